"""A training job's computation, the same for the worker that posts it and the challenger who checks it:
inputs from on-chain records and verified content only, deterministic training and attribution, outputs
reduced to the CIDs and the attribution root that go on-chain.

    inputs = load_job_inputs(client, store, job_id)      # chain + IPFS, every CID verified
    model_dir = train_job(inputs, workdir)                # deterministic LoRA fine-tune
    report = attribute_job(inputs, model_dir)             # model-level Proof of Attribution
    result = publish_result(store, model_dir, report)    # bundle / metrics / report CIDs + root
"""

from worker.jobs.compute import attribute_job, train_job
from worker.jobs.inputs import JobInputError, JobInputs, load_job_inputs
from worker.jobs.result import (
    ATTRIBUTION_LEAF,
    JobResult,
    attribution_tree,
    contributor_weights,
    publish_result,
)

__all__ = [
    "ATTRIBUTION_LEAF",
    "JobInputError",
    "JobInputs",
    "JobResult",
    "attribute_job",
    "attribution_tree",
    "contributor_weights",
    "load_job_inputs",
    "publish_result",
    "train_job",
]
