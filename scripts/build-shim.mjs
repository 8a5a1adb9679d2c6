#!/usr/bin/env node
// Builds the shim: esbuild bundles cni/main.ts into one CommonJS file
// (dist/cni/netrank-cni.cjs), then a Node single executable application
// (dist/bin/netrank-cni) so a host needs no Node.js: a SEA blob injected with
// postject into a copy of this node binary (which carries the SEA fuse).
// `--out DIR` writes both under DIR instead of dist/ (tests use a temp dir).
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire, isBuiltin } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outArg = process.argv.indexOf('--out')
const out = outArg > 0 ? resolve(process.argv[outArg + 1] ?? 'dist') : join(root, 'dist')
const bundleOnly = process.argv.includes('--bundle-only')
const step = (msg) => process.stderr.write(`[build-shim] ${msg}\n`)
const SENTINEL = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'

// Runs a build tool; its chatter (postject warns about ELF note sections) is shown only when it fails.
function quiet (cmd, args) {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    process.stderr.write(String(err.stdout ?? '') + String(err.stderr ?? ''))
    throw err
  }
}

// The `yaml` package is ~60 % of the bundle but only parses hand-written YAML kubeconfigs
// (the installer writes JSON). V8 pre-parses every function of a script it compiles, so
// yaml is embedded as a string and compiled only when a YAML kubeconfig is read: every
// start then compiles ~130 KB less (about 4 ms on the CI machine).
const lazyYaml = {
  name: 'lazy-yaml',
  setup (b) {
    b.onResolve({ filter: /^yaml$/ }, () => ({ path: 'yaml', namespace: 'lazy-yaml' }))
    b.onLoad({ filter: /.*/, namespace: 'lazy-yaml' }, async () => {
      const entry = createRequire(import.meta.url).resolve('yaml')
      const inner = await build({ entryPoints: [entry], bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: true, legalComments: 'none', write: false, logLevel: 'warning' })
      const text = inner.outputFiles[0].text
      // what is left to require must be a Node built-in (a single executable's require loads nothing else)
      const required = [...text.matchAll(/\brequire\(["']([^"']+)["']\)/g)].map((m) => m[1]).filter((id) => !isBuiltin(id))
      if (required.length > 0) throw new Error(`lazy-yaml: the yaml bundle requires ${required.join(', ')}; embed it differently`)
      return { contents: `const m = { exports: {} }\nnew Function('module', 'exports', 'require', ${JSON.stringify(text)})(m, m.exports, require)\nmodule.exports = m.exports\n`, loader: 'js', resolveDir: root }
    })
  },
}

const bundle = join(out, 'cni', 'netrank-cni.cjs')
mkdirSync(dirname(bundle), { recursive: true })
step(`esbuild cni/main.ts → ${bundle}`)
await build({
  entryPoints: [join(root, 'cni', 'main.ts')],
  outfile: bundle,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  banner: { js: '#!/usr/bin/env node' },
  legalComments: 'none',
  // import() becomes require() inside a promise: a single executable application's main
  // script cannot import(), and the shim loads node:http(s) and yaml only when needed
  supported: { 'dynamic-import': false },
  plugins: [lazyYaml],
  logLevel: 'warning',
})
chmodSync(bundle, 0o755)

if (!bundleOnly) {
  const work = join(out, 'cni', 'sea')
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const blob = join(work, 'netrank-cni.blob')
  const seaConfig = join(work, 'sea-config.json')
  const exe = join(out, 'bin', 'netrank-cni')
  // useCodeCache: V8's code cache in the blob saves compile time on every start
  writeFileSync(seaConfig, JSON.stringify({ main: bundle, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }, null, 2))
  step('node --experimental-sea-config')
  quiet(process.execPath, ['--experimental-sea-config', seaConfig])
  mkdirSync(dirname(exe), { recursive: true })
  rmSync(exe, { force: true })
  copyFileSync(process.execPath, exe)
  chmodSync(exe, 0o755)
  step(`postject → ${exe}`)
  quiet(process.execPath, [join(root, 'node_modules', 'postject', 'dist', 'cli.js'), exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SENTINEL])
  rmSync(work, { recursive: true, force: true })
}
step('done')
