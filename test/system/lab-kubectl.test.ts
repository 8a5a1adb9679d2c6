// The real kubectl against the Kubernetes API stand-in (lab/stand-ins/kube-api-stand-in.ts),
// started in this process (no root, no lab): apply, get (-o json, -o wide, -n, -A), delete of
// pods and NetworkAttachmentDefinitions, through the stand-in's token kubeconfig, with kubectl's
// own discovery, OpenAPI validation, Table printing and error messages. Uses the `kubectl` on
// PATH, or NETRANK_KUBECTL=/path/to/kubectl (checked by hand with kubectl 1.32 and 1.20);
// skips when there is none.
import t from 'tap'
import { execFile } from 'node:child_process'
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startKubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import { skip, tempDir } from '../support/netns.js'

interface Run { code: number, stdout: string, stderr: string }
interface Obj {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  spec?: Record<string, unknown>
}

function findKubectl (): string | undefined {
  const override = process.env.NETRANK_KUBECTL
  if (override !== undefined && override !== '') return override
  for (const dir of (process.env.PATH ?? '').split(':').filter((d) => d !== '')) {
    const p = join(dir, 'kubectl')
    try { accessSync(p, constants.X_OK); return p } catch { /* not here */ }
  }
  return undefined
}

const POD_YAML = (tier: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    app: web
    tier: ${tier}
  annotations:
    k8s.v1.cni.cncf.io/networks: bridge-fast
spec:
  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
`

const NAD_YAML = `apiVersion: k8s.cni.cncf.io/v1
kind: NetworkAttachmentDefinition
metadata:
  name: bridge-fast
spec:
  config: '{"cniVersion":"1.0.0","name":"bridge-fast","type":"bridge","bridge":"nrbr-fast"}'
`

const NO_NAME_YAML = `apiVersion: v1
kind: Pod
metadata:
  labels:
    app: nameless
spec:
  containers:
  - name: c
    image: registry.k8s.io/pause:3.10
`

t.test('kubectl against the API stand-in', async (t) => {
  const kubectl = findKubectl()
  if (kubectl === undefined) { skip(t, 'needs kubectl on PATH (or NETRANK_KUBECTL=/path/to/kubectl)'); return }
  const dir = tempDir(t, 'nr-kubectl')
  const s = await startKubeApiStandIn({ dir: join(dir, 'kube') })
  t.teardown(() => s.close())
  const home = join(dir, 'home') // kubectl's discovery cache goes to $HOME/.kube: a fresh one per run
  mkdirSync(home)
  const file = (name: string, text: string): string => { const p = join(dir, name); writeFileSync(p, text); return p }

  // async, never execFileSync: the stand-in answers from this process's event loop
  const run = async (...args: string[]): Promise<Run> => await new Promise((resolve) => {
    execFile(kubectl, ['--kubeconfig', s.kubeconfigPath, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
  const json = async (...args: string[]): Promise<Obj> => {
    const r = await run(...args, '-o', 'json')
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} -o json failed (${r.code}): ${r.stderr}`)
    return JSON.parse(r.stdout) as Obj
  }
  const version = await run('version', '--client')
  t.comment(`${kubectl}: ${version.stdout.split('\n')[0] ?? ''}`)

  const podFile = file('pod.yaml', POD_YAML('one'))
  const nadFile = file('nad.yaml', NAD_YAML)

  await t.test('discovery: api-resources lists pods and NADs with their short names', async (t) => {
    const r = await run('api-resources')
    t.equal(r.code, 0, r.stderr)
    t.match(r.stdout, /^pods\s+po\s+v1\s+true\s+Pod$/m)
    t.match(r.stdout, /^network-attachment-definitions\s+net-attach-def\s+k8s\.cni\.cncf\.io\/v1\s+true\s+NetworkAttachmentDefinition$/m)
  })

  await t.test('apply creates the pod; get -o json shows it', async (t) => {
    const r = await run('apply', '-f', podFile)
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stdout, 'pod/web created\n')
    const p = await json('get', 'pod', 'web')
    t.match(p, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'default', labels: { app: 'web', tier: 'one' }, annotations: { 'k8s.v1.cni.cncf.io/networks': 'bridge-fast' } } })
    t.same(p.spec, { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] })
    t.ok(s.getPod('default', 'web'), 'the stand-in has it')
  })

  await t.test('apply again with a changed label patches it; the last-applied annotation follows', async (t) => {
    writeFileSync(podFile, POD_YAML('two').replace('pause:3.10', 'pause:3.9'))
    const r = await run('apply', '-f', podFile)
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stdout, 'pod/web configured\n')
    const p = await json('get', 'pod', 'web')
    t.same(p.metadata.labels, { app: 'web', tier: 'two' })
    const last = JSON.parse(p.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'] ?? 'null') as Obj
    t.same(last.metadata.labels, { app: 'web', tier: 'two' })
    t.same(p.spec, { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.9' }] }, 'the container merged by name, no $setElementOrder stored')
    t.equal(s.requests.filter((q) => q.method === 'PATCH' && q.path === '/api/v1/namespaces/default/pods/web').length, 1, 'one PATCH')
    const again = await run('apply', '-f', podFile)
    t.equal(again.stdout, 'pod/web unchanged\n')
  })

  await t.test('get -o wide shows the IP and node once the pod has them', async (t) => {
    const before = await run('get', 'pod', 'web', '-o', 'wide')
    t.match(before.stdout, /^web\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>\s+<none>\s+<none>$/m)
    const pod = s.getPod('default', 'web')
    if (pod === undefined) throw new Error('the pod is gone')
    s.putPod({ ...pod, spec: { ...pod.spec, nodeName: 'lab-node' }, status: { phase: 'Running', podIP: '10.66.1.7', containerStatuses: [{ name: 'c', ready: true, restartCount: 0 }] } })
    const r = await run('get', 'pod', 'web', '-o', 'wide')
    t.equal(r.code, 0, r.stderr)
    const [header = '', row = ''] = r.stdout.split('\n')
    t.match(header, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/)
    t.match(row, /^web\s+1\/1\s+Running\s+0\s+\d+s\s+10\.66\.1\.7\s+lab-node\s+<none>\s+<none>$/)
    const plain = await run('get', 'pods')
    t.match(plain.stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nweb\s+1\/1\s+Running\s+0\s+\d+s\n$/)
    t.match((await run('get', 'pod', 'web', '-o', 'yaml')).stdout, /^ {2}podIP: 10\.66\.1\.7$/m)
  })

  await t.test('apply and get NADs, by plural and by short name', async (t) => {
    const r = await run('apply', '-f', nadFile)
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stdout, 'networkattachmentdefinition.k8s.cni.cncf.io/bridge-fast created\n')
    t.match((await run('get', 'network-attachment-definitions')).stdout, /^NAME\s+AGE\nbridge-fast\s+\d+s\n$/)
    const n = await json('get', 'net-attach-def', 'bridge-fast')
    t.match(n, { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'bridge-fast', namespace: 'default' } })
    t.same(JSON.parse(String(n.spec?.config)), { cniVersion: '1.0.0', name: 'bridge-fast', type: 'bridge', bridge: 'nrbr-fast' })
  })

  await t.test('-n NS and -A', async (t) => {
    t.equal((await run('apply', '-n', 'lab', '-f', podFile)).stdout, 'pod/web created\n')
    t.match((await run('get', 'pods', '-n', 'lab')).stdout, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nweb\s+0\/1\s+Pending\s+/)
    const all = await run('get', 'pods', '-A', '-o', 'wide')
    t.match(all.stdout, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+/)
    t.match(all.stdout, /^default\s+web\s+1\/1\s+Running\s+0\s+\d+s\s+10\.66\.1\.7\s+lab-node\s/m)
    t.match(all.stdout, /^lab\s+web\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+<none>\s/m)
    t.match((await run('get', 'net-attach-def', '-A')).stdout, /^NAMESPACE\s+NAME\s+AGE\ndefault\s+bridge-fast\s+\d+s\n$/)
    t.equal((await run('get', 'pods', '-n', 'empty')).stderr, 'No resources found in empty namespace.\n')
  })

  await t.test('delete removes; a missing pod is kubectl\'s NotFound with a non-zero exit', async (t) => {
    const r = await run('delete', 'pod', 'web')
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stdout, 'pod "web" deleted\n')
    t.equal(s.getPod('default', 'web'), undefined)
    const get = await run('get', 'pod', 'web')
    t.not(get.code, 0)
    t.equal(get.stderr, 'Error from server (NotFound): pods "web" not found\n')
    const again = await run('delete', 'pod', 'web')
    t.not(again.code, 0)
    t.equal(again.stderr, 'Error from server (NotFound): pods "web" not found\n')
    const nad = await run('delete', '-f', nadFile)
    t.equal(nad.code, 0, nad.stderr)
    t.equal(nad.stdout, 'networkattachmentdefinition.k8s.cni.cncf.io "bridge-fast" deleted\n')
    t.equal((await run('get', 'net-attach-def')).stderr, 'No resources found in default namespace.\n')
    t.equal((await run('delete', '-n', 'lab', '-f', podFile)).stdout, 'pod "web" deleted\n')
  })

  await t.test('bad manifests get clear errors: no name, no kind, an existing name', async (t) => {
    const nameless = file('nameless.yaml', NO_NAME_YAML)
    const apply = await run('apply', '-f', nameless)
    t.not(apply.code, 0)
    t.match(apply.stderr, /resource name may not be empty/)
    const create = await run('create', '-f', nameless)
    t.not(create.code, 0)
    t.equal(create.stderr, 'The Pod "" is invalid: metadata.name: Required value: name or generateName is required\n', 'the server\'s 422 with its causes')
    const kindless = await run('apply', '-f', file('kindless.yaml', 'apiVersion: v1\nmetadata:\n  name: x\n'))
    t.not(kindless.code, 0)
    t.match(kindless.stderr, /kind not set/)
    t.equal((await run('create', '-f', podFile)).code, 0)
    const dup = await run('create', '-f', podFile)
    t.not(dup.code, 0)
    t.equal(dup.stderr, `Error from server (AlreadyExists): error when creating "${podFile}": pods "web" already exists\n`)
  })
})
