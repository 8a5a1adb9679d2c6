// The self-contained executable (Node single executable application) behaves like the
// bundle: same VERSION answer, same error JSON, and a real ADD/DEL over bridge+host-local.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse, stringify } from 'yaml'
import { startKubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import { hostLocalReservations, bridgePorts, createNetns, skipUnlessPlugins, skipUnlessRoot, tempDir } from '../support/netns.js'
import { buildShim, runBinary, Stage, startAgent } from '../support/cni-harness.js'

const { bundle, exe } = buildShim({ withExe: true })
const shims: Array<[string, string]> = [['bundle', bundle], ['executable', exe ?? '']]
const plainEnv = { PATH: process.env.PATH ?? '' }

t.test('VERSION and a decode error are the same from the bundle and the executable', async (t) => {
  const answers: string[] = []
  for (const [label, shim] of shims) {
    const v = await runBinary(shim, { ...plainEnv, CNI_COMMAND: 'VERSION' }, '')
    t.equal(v.code, 0, `${label}: VERSION exits 0`)
    t.same(v.json, { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] }, label)
    t.equal(v.stderr, '', `${label}: no warning on stderr (disableExperimentalSEAWarning)`)
    const bad = await runBinary(shim, { ...plainEnv, CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'x', CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' }, '{')
    t.equal(bad.code, 1)
    answers.push(bad.stdout)
  }
  t.equal(answers[0], answers[1], 'identical error JSON')
  t.match(answers[0], /"code":6/)
})

t.test('a real smart ADD (YAML kubeconfig, HTTPS API, HTTP agent) and DEL through each of them', async (t) => {
  if (skipUnlessRoot(t) || skipUnlessPlugins(t)) return
  const kube = await startKubeApiStandIn({ dir: tempDir(t, 'nr-sea-kube') })
  t.teardown(() => kube.close())
  // YAML on purpose: the lazily loaded yaml package and node:http(s) must work inside the executable too
  const kubeconfig = join(tempDir(t, 'nr-sea-kc'), 'kubeconfig.yaml')
  writeFileSync(kubeconfig, stringify(parse(readFileSync(kube.kubeconfigPath, 'utf8'))))
  const agent = await startAgent(t, { kind: 'ok', plugins: ['nr-sea'], decisionId: 'dec-sea' })
  for (const [label, shim] of shims) {
    const s = new Stage(t, { shim })
    const net = s.addBridgeNetwork('nr-sea')
    s.addBridgeNetwork('nr-other')
    const ns = createNetns('nrs')
    t.teardown(() => ns.remove())
    const pod = `sea-${label}`
    kube.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace: 'default', annotations: { cni: '' } } })
    const args = { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: pod }
    const conf = { cniVersion: '0.4.0', kubeconfig, defaultPlugins: ['nr-other'], selector: { url: agent.url, timeoutMs: 3000 } }
    const id = `nrsea${process.pid}${label}`
    const add = await s.run('ADD', { containerId: id, netns: ns.path, args, conf })
    t.equal(add.code, 0, `${label}: ADD ${add.stdout}`)
    t.equal(add.json?.cniVersion, '0.4.0')
    const addr = ns.addresses().find((a) => a.ifname === 'eth0')?.addr_info.find((i) => i.family === 'inet')?.local ?? ''
    t.ok(addr.startsWith(net.subnet.split('.').slice(0, 3).join('.')), `${label}: eth0 ${addr} on the agent's choice ${net.subnet}`)
    const selection = kube.getPod('default', pod)?.metadata.annotations?.['netrank.io/selection'] ?? '{}'
    t.same(JSON.parse(selection), { plugins: ['nr-sea'], reason: 'smart', decisionId: 'dec-sea' }, `${label}: selection patched`)
    const del = await s.run('DEL', { containerId: id, netns: ns.path, args, conf })
    t.equal(del.code, 0, `${label}: DEL ${del.stdout}`)
    t.same(hostLocalReservations(s.dataDir), [], `${label}: nothing reserved`)
    t.same(bridgePorts(net.bridge ?? ''), [], `${label}: no host veth`)
  }
})
