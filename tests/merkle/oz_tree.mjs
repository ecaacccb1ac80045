#!/usr/bin/env node
// Oracle for worker/merkle: builds an @openzeppelin/merkle-tree StandardMerkleTree from the JSON on stdin
//   {"encoding": ["address", "uint256"], "values": [["0x..", "123"], ...]}
// and prints {"root", "proofs": [proof of value 0, 1, ...], "dump"}. Integers arrive as decimal strings
// (JSON has no bigint) and are turned into BigInt for the ABI encoder.
import { createRequire } from 'node:module'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'

const require = createRequire(resolve(process.env.OZ_MERKLE_ROOT || process.cwd(), 'package.json'))
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree')

const isInt = (type) => /^u?int\d*$/.test(type)
const input = JSON.parse(readFileSync(0, 'utf8'))
const values = input.values.map((value) => value.map((v, i) => (isInt(input.encoding[i]) ? BigInt(v) : v)))
const tree = StandardMerkleTree.of(values, input.encoding)
const proofs = values.map((_, i) => tree.getProof(i))
const dump = JSON.parse(JSON.stringify(tree.dump(), (_, v) => (typeof v === 'bigint' ? v.toString() : v)))
process.stdout.write(JSON.stringify({ root: tree.root, proofs, dump }))
