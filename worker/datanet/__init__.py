"""Datanet journeys: chain + content storage + data rules together (the `openledger datanet`,
`contribute`, `review` and `publish-version` commands and the demo both use these).

- `state`: what the chain says about a datanet (record, verified metadata, contributions, versions)
- `creating`: metadata upload + `createDatanet`
- `contributing`: validate before anything is spent, duplicates against accepted records, upload, submit
- `curation`: accept / reject with a reason document
- `publishing`: a manifest of the accepted contributions read from chain, `publishVersion`
- `versions`: a published version loaded back or exported, checked against the on-chain root

Dependencies point down only: worker.chain, worker.storage and worker.data never import this package.
"""
