#!/usr/bin/env node
// The build, in two parts (docs/architecture.md):
//  - the product (`--product`): tsc -p tsconfig.product.json → dist/ (bin, contract, selector,
//    store, collectors, agent, cli, cni), then scripts/build-shim.mjs: the shim bundled by
//    esbuild and its self-contained executable (dist/bin/netrank-cni). This is what the agent
//    image builds and ships.
//  - the development parts (default: both): tsc -p tsconfig.dev.json → dist/ (lab, bench,
//    test support) and scripts/build-conformance.mjs, the libcni conformance client (Go),
//    when Go is installed.
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const productOnly = process.argv.includes('--product')
const step = (msg) => process.stderr.write(`[build] ${msg}\n`)
const tsc = (project) => {
  step(`tsc -p ${project}`)
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: root, stdio: 'inherit' })
}
const script = (name) => {
  step(name)
  execFileSync(process.execPath, [join(root, 'scripts', name)], { cwd: root, stdio: 'inherit' })
}

rmSync(join(root, 'dist'), { recursive: true, force: true })
tsc('tsconfig.product.json')
// the CLI is run as `node dist/bin/netrank.js` and, through package.json `bin`, directly
chmodSync(join(root, 'dist', 'bin', 'netrank.js'), 0o755)
// the CRI proto subset, read at run time by collectors/cri/cri-client.js beside itself
copyFileSync(join(root, 'collectors', 'cri', 'runtime-v1.proto'), join(root, 'dist', 'collectors', 'cri', 'runtime-v1.proto'))
script('build-shim.mjs')
if (!productOnly) {
  tsc('tsconfig.dev.json')
  if (existsSync(join(root, 'scripts', 'build-conformance.mjs'))) script('build-conformance.mjs')
}
