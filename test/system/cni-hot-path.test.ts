// What the shim's per-operation paths load: DEL from an attachment record must need
// neither the API server nor the agent, so it must not pay for Node's TLS/HTTP modules or
// read the kubeconfig (the DEL overhead target of bench/RESULTS.md). Observed from outside: a preload
// writes the Node built-in modules the shim bundle required.
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createNetns, hostLocalReservations, skipUnlessPlugins, skipUnlessRoot, tempDir } from '../support/netns.js'
import { Stage } from '../support/cni-harness.js'

// records every module the shim bundle itself requires (tap's own hooks in the child are not
// the shim's: they load through ESM, not the bundle's require)
const PRELOAD = `const Module = require('node:module')
const seen = []
const orig = Module.prototype.require
Module.prototype.require = function (id) {
  if (typeof this.filename === 'string' && this.filename.endsWith('netrank-cni.cjs')) seen.push(id.replace(/^node:/, ''))
  return orig.apply(this, arguments)
}
process.on('exit', () => { require('node:fs').writeFileSync(process.env.NR_MODULES_OUT, JSON.stringify(seen)) })
`

t.test('DEL from a record loads no TLS, HTTP or crypto module and never reads the kubeconfig', async (t) => {
  if (skipUnlessRoot(t) || skipUnlessPlugins(t)) return
  const dir = tempDir(t, 'nr-hot')
  const preload = join(dir, 'preload.cjs')
  writeFileSync(preload, PRELOAD)
  const out = join(dir, 'modules.json')
  const s = new Stage(t)
  s.addBridgeNetwork('nr-hot')
  const ns = createNetns('nrh')
  t.teardown(() => ns.remove())
  const id = `nrhot${process.pid}`
  t.notOk(existsSync(join(s.dir, 'log')), 'the log directory does not exist yet')
  const add = await s.run('ADD', { containerId: id, netns: ns.path, conf: { defaultPlugins: ['nr-hot'] } })
  t.equal(add.code, 0, add.stdout)
  t.ok(existsSync(s.logFile), 'the log file and its directory were created on the first write')

  // the pod args and a kubeconfig that does not exist: a DEL that tried the API would log it
  const missing = join(dir, 'no-such-kubeconfig')
  const del = await s.run('DEL', {
    containerId: id,
    netns: ns.path,
    args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: 'p' },
    conf: { defaultPlugins: ['nr-hot'], kubeconfig: missing },
    env: { NODE_OPTIONS: `--require ${preload}`, NR_MODULES_OUT: out },
  })
  t.equal(del.code, 0, del.stdout)
  t.same(hostLocalReservations(s.dataDir), [], 'the delegate DEL ran')
  const loaded = JSON.parse(readFileSync(out, 'utf8')) as string[]
  t.ok(loaded.includes('child_process'), `the preload saw what the shim required: ${loaded.join(' ')}`)
  for (const heavy of ['tls', 'https', 'http', 'crypto']) t.notOk(loaded.includes(heavy), `${heavy} not loaded on DEL`)
  const lines = s.logLines().filter((l) => l.command === 'DEL')
  t.ok(lines.some((l) => l.msg === 'DEL done'))
  t.notOk(lines.some((l) => JSON.stringify(l).includes(missing)), 'the kubeconfig was never touched')
})
