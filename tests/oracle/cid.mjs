#!/usr/bin/env node
// Prints the CID that the JS UnixFS reference importer gives each file, one JSON line per file:
//   node cid.mjs v0|v1 FILE...   ->   {"path": FILE, "cid": "...", "seconds": 0.12}
// v0 = Kubo's default `ipfs add`; v1 = `ipfs add --cid-version=1` (raw leaves). Both use fixed 256 KiB
// chunks and the balanced layout with 174 links per node, set explicitly so that a change of the
// importer's defaults cannot silently change the oracle.
import { createReadStream } from 'node:fs'
import { importer } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

const PROFILES = {
  v0: { cidVersion: 0, rawLeaves: false, leafType: 'file' },
  v1: { cidVersion: 1, rawLeaves: true }
}

// Blocks are only hashed, never kept: the oracle answers "which CID", not "store this".
const discard = { put: async (cid) => cid }

async function cidOf (path, profile) {
  const options = {
    ...profile,
    reduceSingleLeafToSelf: true,
    chunker: fixedSize({ chunkSize: 262144 }),
    layout: balanced({ maxChildrenPerNode: 174 })
  }
  let last
  for await (const entry of importer([{ content: createReadStream(path) }], discard, options)) {
    last = entry
  }
  return last.cid.toString()
}

async function main () {
  const [name, ...paths] = process.argv.slice(2)
  const profile = PROFILES[name]
  if (!profile || paths.length === 0) {
    process.stderr.write('usage: node cid.mjs v0|v1 FILE...\n')
    process.exitCode = 2
    return
  }
  for (const path of paths) {
    const start = process.hrtime.bigint()
    const cid = await cidOf(path, profile)
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    process.stdout.write(JSON.stringify({ path, cid, seconds }) + '\n')
  }
}

main().catch((err) => {
  process.stderr.write(`${err.stack || err}\n`)
  process.exitCode = 1
})
