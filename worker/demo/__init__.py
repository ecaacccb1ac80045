"""`make demo`: the whole lifecycle on embedded defaults (local Anvil, local content store, packaged model).

Stages, one module each: datanet (create, contribute, curate, publish), training (model, job, worker
trains and attributes, result, challenge window, finalize), rewards (paid inference, epoch root, claims).
"""
