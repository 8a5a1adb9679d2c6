#!/usr/bin/env node
// The build: TypeScript → dist/ (tsc), then the steps that exist so far:
//  - scripts/build-shim.mjs: the shim bundled by esbuild and its self-contained executable
//    (dist/bin/netrank-cni);
//  - scripts/build-conformance.mjs: the libcni conformance client (Go), when Go is installed.
import { execFileSync } from 'node:child_process'
import { chmodSync, existsSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const step = (msg) => process.stderr.write(`[build] ${msg}\n`)

rmSync(join(root, 'dist'), { recursive: true, force: true })
step('tsc -p tsconfig.build.json')
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
  { cwd: root, stdio: 'inherit' })
// the CLI is run as `node dist/bin/netrank.js` and, through package.json `bin`, directly
const cli = join(root, 'dist', 'bin', 'netrank.js')
if (existsSync(cli)) chmodSync(cli, 0o755)

for (const extra of ['build-shim.mjs', 'build-conformance.mjs']) {
  const file = join(root, 'scripts', extra)
  if (existsSync(file)) {
    step(extra)
    execFileSync(process.execPath, [file], { cwd: root, stdio: 'inherit' })
  }
}
