"""The chain layer: web3 connection, signers, a transaction sender with one nonce manager per account,
typed contract wrappers over forge's out/ artifacts, deployment, governance, and a local Anvil.

Entry points: `ChainClient.connect()` (worker.chain.client), `deploy_system` (worker.chain.deployment),
`LocalChain.start()` (worker.chain.devnet). Nothing is imported here so that `import worker.chain.x`
stays cheap.
"""
