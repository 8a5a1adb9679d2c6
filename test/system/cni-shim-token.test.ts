// The shim's own credentials: the agent mints a token for the shim's ServiceAccount through
// TokenRequest into the file the shim's kubeconfig names (0600); the shim's direct path reads
// the API with it (the stand-in sees that service account, not the agent's identity); the
// token outlives a SIGKILLed agent; once the API refuses it the ADD fails with code 11 naming
// the file, and an agent started again mints a new one the shim uses.
import t from 'tap'
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startKubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import { buildPaths } from '../../lab/lab-paths.js'
import { readRecord } from '../../contract/attachment-record.js'
import { createNetns, skip, skipUnlessPlugins, skipUnlessRoot, tempDir, type Netns, type TestLike } from '../support/netns.js'
import { Stage } from '../support/cni-harness.js'
import { runAgentProcess, startAgentProcess } from '../support/agent-process.js'

const NODE = 'nr-node'

function netns (t: TestLike): Netns {
  const ns = createNetns('nrt')
  t.teardown(() => ns.remove())
  return ns
}

t.test('the shim\'s token, minted by the agent', async (t) => {
  if (skipUnlessRoot(t) || skipUnlessPlugins(t)) return
  if (!existsSync(buildPaths().cli)) { skip(t, `needs the build (npm run build): missing ${buildPaths().cli}`); return }
  const dir = tempDir(t, 'nr-shim-token')
  const k = await startKubeApiStandIn({ dir: join(dir, 'kube') })
  t.teardown(() => k.close())
  const s = new Stage(t)
  s.addBridgeNetwork('nr-a')
  const tokenFile = join(dir, 'state', 'cni-token')
  const agent = await startAgentProcess(t, dir, {
    node: NODE,
    kubeconfig: k.kubeconfigPath,
    plugins: ['nr-a'],
    extra: { shimToken: { enabled: true, namespace: 'netrank', serviceAccount: 'netrank-cni', file: tokenFile, expirationSeconds: 3600 } },
  })
  t.equal(statSync(tokenFile).mode & 0o777, 0o600, 'the token file is 0600')
  t.same(k.minted.map((m) => m.serviceAccount), ['netrank/netrank-cni'], 'one TokenRequest, for the shim\'s service account')
  t.equal(readFileSync(tokenFile, 'utf8'), k.minted[0]?.token, 'the minted token is in the file')

  // the shim's kubeconfig: the stand-in's CA and the token FILE (as install-cni.sh writes it)
  const shimKubeconfig = join(dir, 'shim.kubeconfig')
  writeFileSync(shimKubeconfig, JSON.stringify({
    'current-context': 'c',
    contexts: [{ name: 'c', context: { cluster: 'k', user: 'netrank-cni' } }],
    clusters: [{ name: 'k', cluster: { server: k.url, 'certificate-authority': k.caPath } }],
    users: [{ name: 'netrank-cni', user: { tokenFile } }],
  }))
  // the direct path: the shim reads the pod and patches it itself, with the minted token
  const conf = { kubeconfig: shimKubeconfig, agent: { socket: '' } }
  let n = 0
  const add = async (t: TestLike, expectCode: number | undefined) => {
    const name = `tok-${++n}`
    k.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}`, annotations: { cni: 'nr-a' } }, spec: { nodeName: NODE } })
    const ns = netns(t)
    const id = `nrtok${process.pid}x${n}`
    const from = k.requests.length
    const r = await s.run('ADD', { containerId: id, netns: ns.path, args: { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: name, K8S_POD_UID: `uid-${name}` }, conf })
    if (expectCode === undefined && r.code === 0) await s.run('DEL', { containerId: id, netns: ns.path, conf })
    return { r, requests: k.requests.slice(from), record: readRecord(s.stateDir, id, 'eth0') }
  }

  t.test('the direct path reads and patches the API as netrank-cni', async (t) => {
    const { r, requests } = await add(t, undefined)
    t.equal(r.code, 0, `ADD ${r.stdout}`)
    const shim = requests.filter((q) => q.path.startsWith('/api/v1/namespaces/default/pods/tok-'))
    t.ok(shim.length >= 2, 'the GET and the PATCH')
    t.ok(shim.every((q) => q.auth === 'minted' && q.subject === 'netrank/netrank-cni'), 'all with the minted token of netrank/netrank-cni')
  })

  t.test('the token outlives a SIGKILLed agent (bound to no pod)', async (t) => {
    agent.child.kill('SIGKILL')
    await new Promise((resolve) => agent.child.once('exit', resolve))
    const { r } = await add(t, undefined)
    t.equal(r.code, 0, `ADD with the agent gone ${r.stdout}`)
  })

  t.test('refused by the API: code 11 naming the token file; nothing attached', async (t) => {
    k.revokeMinted()
    const { r, record } = await add(t, 11)
    t.equal(r.code, 1)
    t.equal(r.json?.code, 11, 'try again later')
    t.match(String(r.json?.details), new RegExp(`401 Unauthorized with the token of ${tokenFile}`))
    t.equal(record, undefined, 'no record')
  })

  t.test('an agent started again mints a new token; the shim uses it', async (t) => {
    const again = await runAgentProcess(t, agent.configPath, agent.url, agent.socket)
    t.ok(again.child.pid !== undefined)
    t.equal(k.minted.length, 1, 'a fresh token (the revoked ones are gone)')
    const { r } = await add(t, undefined)
    t.equal(r.code, 0, `ADD ${r.stdout}`)
  })
})
