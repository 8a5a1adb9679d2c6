// Every malformed input the shim can get, each with its CNI error code: stdin, conf
// fields, versions and verb gates, env per verb, delegate confs and binaries, interface
// names, annotations and kubeconfigs. Driven in-process through runShim (the same code
// the executable runs); test/system/cni-bundle-malformed.test.ts runs the bundle itself.
import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { runShim } from '../../cni/run.js'
import { startKubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import { tempDir } from '../support/netns.js'

const dir = tempDir(t, 'nr-cni-bad')
const confDir = join(dir, 'net.d')
const logFile = join(dir, 'cni.log')
const stateDir = join(dir, 'state')
const { mkdirSync } = await import('node:fs')
mkdirSync(confDir)
writeFileSync(join(confDir, '00-netrank.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'netrank', plugins: [{ type: 'netrank-cni' }] }))
writeFileSync(join(confDir, '10-good.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'good', type: 'nr-no-such-binary' }))
writeFileSync(join(confDir, '20-broken.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'broken', type: '../../bin/sh' }))
writeFileSync(join(confDir, '30-unparsable.conflist'), '{"name": "half')

const baseConf = { cniVersion: '1.0.0', name: 'netrank', type: 'netrank-cni', confDir, stateDir, logFile, selector: { url: 'http://127.0.0.1:1', timeoutMs: 50 } }
const baseEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'nrbad1', CNI_NETNS: '/var/run/netns/nr-none', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', CNI_ARGS: 'IgnoreUnknown=1' }

async function code (env: Record<string, string | undefined>, stdin: string): Promise<{ code: number | undefined, details: string, exitCode: number, cniVersion: unknown }> {
  const out = await runShim(env, stdin)
  const json = out.stdout === '' ? {} : JSON.parse(out.stdout) as { code?: number, details?: string, cniVersion?: string }
  return { code: json.code, details: json.details ?? '', exitCode: out.exitCode, cniVersion: json.cniVersion }
}

const conf = (extra: Record<string, unknown>): string => JSON.stringify({ ...baseConf, ...extra })
const without = (key: string): string => { const c: Record<string, unknown> = { ...baseConf }; Reflect.deleteProperty(c, key); return JSON.stringify(c) }

t.test('malformed stdin, conf fields and versions each get their CNI code', async (t) => {
  const cases: Array<[string, Record<string, string>, string, number, RegExp]> = [
    ['stdin is not JSON', baseEnv, 'not json', 6, /not JSON/],
    ['stdin is empty', baseEnv, '', 6, /not JSON/],
    ['stdin is a JSON array', baseEnv, '[1]', 6, /JSON object/],
    ['cniVersion missing', baseEnv, without('cniVersion'), 7, /cniVersion/],
    ['cniVersion unknown', baseEnv, conf({ cniVersion: '0.2.0' }), 1, /0\.2\.0/],
    ['cniVersion from the future', baseEnv, conf({ cniVersion: '9.9.9' }), 1, /9\.9\.9/],
    ['cniVersion not a string', baseEnv, conf({ cniVersion: 1 }), 1, /cniVersion/],
    ['name missing', baseEnv, without('name'), 7, /"name"/],
    ['type missing', baseEnv, without('type'), 7, /"type"/],
    ['a / in the type', baseEnv, conf({ type: '../netrank-cni' }), 7, /without '\/'/],
    ['defaultPlugins not a list', baseEnv, conf({ defaultPlugins: 'good' }), 7, /defaultPlugins/],
    ['selector not an object', baseEnv, conf({ selector: 'http://x' }), 7, /selector/],
    ['selector url not http', baseEnv, conf({ selector: { url: 'ftp://x' } }), 7, /http/],
    ['selector timeout negative', baseEnv, conf({ selector: { timeoutMs: -1 } }), 7, /timeoutMs/],
    ['agent not an object', baseEnv, conf({ agent: '/run/x.sock' }), 7, /"agent" must be an object/],
    ['agent socket relative', baseEnv, conf({ agent: { socket: 'run/agent.sock' } }), 7, /"agent.socket" must be an absolute path/],
    ['agent socket not a string', baseEnv, conf({ agent: { socket: 7 } }), 7, /"agent.socket"/],
    ['agent socket too long', baseEnv, conf({ agent: { socket: '/' + 'x'.repeat(120) } }), 7, /longer than a unix socket path may be/],
    ['agent timeout zero', baseEnv, conf({ agent: { timeoutMs: 0 } }), 7, /"agent.timeoutMs"/],
    ['agent timeout a string', baseEnv, conf({ agent: { timeoutMs: '1s' } }), 7, /"agent.timeoutMs"/],
    ['logLevel unknown', baseEnv, conf({ logLevel: 'loud' }), 7, /logLevel/],
    ['kubeconfig empty', baseEnv, conf({ kubeconfig: '' }), 7, /kubeconfig/],
    ['runtimeConfig not an object', baseEnv, conf({ runtimeConfig: [] }), 7, /runtimeConfig/],
    ['CHECK in 0.3.1', { ...baseEnv, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.3.1' }), 1, /CHECK needs cniVersion 0\.4\.0/],
    ['STATUS in 1.0.0', { ...baseEnv, CNI_COMMAND: 'STATUS' }, conf({}), 1, /STATUS needs cniVersion 1\.1\.0/],
    ['GC in 0.4.0', { ...baseEnv, CNI_COMMAND: 'GC' }, conf({ cniVersion: '0.4.0' }), 1, /GC needs/],
    ['GC with a bad valid-attachments list', { ...baseEnv, CNI_COMMAND: 'GC' }, conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 1 }] }), 7, /valid-attachments/],
  ]
  for (const [label, env, stdin, want, re] of cases) {
    const r = await code(env, stdin)
    t.equal(r.exitCode, 1, `${label}: non-zero exit`)
    t.equal(r.code, want, `${label}: code ${want}`)
    t.match(r.details, re, `${label}: says why`)
  }
  const v = await code(baseEnv, conf({ cniVersion: '0.4.0', type: 'a/b' }))
  t.equal(v.cniVersion, '0.4.0', 'the error is reported in the conf cniVersion')
})

t.test('missing or invalid environment, per verb, is code 4', async (t) => {
  const drop = (k: string, extra: Record<string, string> = {}): Record<string, string | undefined> => ({ ...baseEnv, ...extra, [k]: undefined })
  const cases: Array<[string, Record<string, string | undefined>, RegExp]> = [
    ['no CNI_COMMAND', drop('CNI_COMMAND'), /CNI_COMMAND/],
    ['unknown CNI_COMMAND', { ...baseEnv, CNI_COMMAND: 'add' }, /"add"; expected one of ADD, DEL, CHECK, VERSION, STATUS, GC/],
    ['ADD without CNI_CONTAINERID', drop('CNI_CONTAINERID'), /CNI_CONTAINERID/],
    ['ADD without CNI_NETNS', drop('CNI_NETNS'), /CNI_NETNS/],
    ['ADD without CNI_IFNAME', drop('CNI_IFNAME'), /CNI_IFNAME/],
    ['ADD without CNI_PATH', drop('CNI_PATH'), /CNI_PATH/],
    ['CHECK without CNI_NETNS', drop('CNI_NETNS', { CNI_COMMAND: 'CHECK' }), /CNI_NETNS/],
    ['DEL without CNI_CONTAINERID', drop('CNI_CONTAINERID', { CNI_COMMAND: 'DEL' }), /CNI_CONTAINERID/],
    ['DEL without CNI_IFNAME', drop('CNI_IFNAME', { CNI_COMMAND: 'DEL' }), /CNI_IFNAME/],
    ['STATUS without CNI_PATH', drop('CNI_PATH', { CNI_COMMAND: 'STATUS' }), /CNI_PATH/],
    ['GC without CNI_PATH', drop('CNI_PATH', { CNI_COMMAND: 'GC' }), /CNI_PATH/],
    ['a container id with a slash', { ...baseEnv, CNI_CONTAINERID: 'a/../../b' }, /CNI_CONTAINERID/],
    ['an interface name of 16 bytes', { ...baseEnv, CNI_IFNAME: 'abcdefghijklmnop' }, /interface name/],
    ['CNI_ARGS without =', { ...baseEnv, CNI_ARGS: 'K8S_POD_NAME' }, /KEY=VALUE/],
  ]
  for (const [label, env, re] of cases) {
    const r = await code(env, conf({}))
    t.equal(r.code, 4, `${label}: code 4`)
    t.match(r.details, re, label)
  }
  const del = await code({ ...baseEnv, CNI_COMMAND: 'DEL', CNI_NETNS: undefined, CNI_CONTAINERID: 'nrneveradded' }, conf({ defaultPlugins: ['good'] }))
  t.equal(del.exitCode, 0, 'DEL without CNI_NETNS (the runtime already removed it) and without a record succeeds')
})

t.test('delegate problems: conf not found, invalid conf file, binary not in CNI_PATH', async (t) => {
  const cases: Array<[string, Record<string, unknown>, number, RegExp]> = [
    ['default network not in confDir', { defaultPlugins: ['missing'] }, 103, /no conf with "name": "missing".*found: good/],
    ['its conf has a / in the type', { defaultPlugins: ['broken'] }, 112, /plain binary name/],
    ['its binary is not in CNI_PATH', { defaultPlugins: ['good'] }, 104, /nr-no-such-binary/],
    ['smart with nothing to fall back to', { confDir: join(dir, 'empty') }, 103, /no delegate network conf/],
  ]
  for (const [label, extra, want, re] of cases) {
    const r = await code(baseEnv, conf(extra))
    t.equal(r.code, want, `${label}: code ${want}`)
    t.match(r.details, re, label)
  }
  const log = readFileSync(logFile, 'utf8')
  t.match(log, /"error":"NR_CNI_PLUGIN_NOT_FOUND"/, 'failures are logged with their registry name')
})

t.test('VERSION answers with every supported version, stdin or not', async (t) => {
  const want = { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] }
  for (const stdin of ['', '{"cniVersion":"0.3.1"}', 'garbage']) {
    const out = await runShim({ CNI_COMMAND: 'VERSION' }, stdin)
    t.same(JSON.parse(out.stdout), want, `stdin ${JSON.stringify(stdin)}`)
  }
})

t.test('annotations, interface names and kubeconfigs, through the Kubernetes API stand-in', async (t) => {
  const k = await startKubeApiStandIn({ dir: tempDir(t, 'nr-kube-bad') })
  t.teardown(() => k.close())
  writeFileSync(join(confDir, '40-a.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'a', type: 'nr-no-such-binary' }))
  const pods: Record<string, Record<string, string>> = {
    emptyentry: { cni: 'a,,a' },
    dupifname: { cni: 'a@net1,a@net1' },
    badifname: { cni: 'a@this-is-far-too-long' },
    badnetworks: { 'k8s.v1.cni.cncf.io/networks': '[{"name":' },
    badnadname: { 'k8s.v1.cni.cncf.io/networks': 'Not_A_Name' },
    nonad: { 'k8s.v1.cni.cncf.io/networks': 'ghost' },
    badnad: { 'k8s.v1.cni.cncf.io/networks': 'bad' },
    unknownnet: { cni: 'nowhere' },
  }
  for (const [name, annotations] of Object.entries(pods)) k.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', annotations } })
  k.putNad('default', 'bad', { spec: { config: '{"cniVersion":"1.0.0","type":' } })
  const args = (pod: string): string => `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod}`
  const cases: Array<[string, number, RegExp]> = [
    ['emptyentry', 101, /empty entry/],
    ['dupifname', 102, /net1/],
    ['badifname', 101, /interface name/],
    ['badnetworks', 101, /not valid JSON/],
    ['badnadname', 101, /DNS-1123/],
    ['nonad', 107, /default\/ghost/],
    ['badnad', 108, /spec.config is not JSON/],
    ['unknownnet', 103, /nowhere/],
  ]
  for (const [pod, want, re] of cases) {
    const r = await code({ ...baseEnv, CNI_ARGS: args(pod) }, conf({ kubeconfig: k.kubeconfigPath, defaultPlugins: ['a'] }))
    t.equal(r.code, want, `${pod}: code ${want}`)
    t.match(r.details, re, pod)
  }

  // NAD namespace isolation: another tenant's NAD is refused before it is fetched; the pod's
  // own namespace and the global ones (default: "default") are allowed
  k.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'intruder', namespace: 'tenant-a', annotations: { 'k8s.v1.cni.cncf.io/networks': 'tenant-b/secret-net' } } })
  k.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'shared', namespace: 'tenant-a', annotations: { 'k8s.v1.cni.cncf.io/networks': 'default/ghost' } } })
  k.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'own', namespace: 'tenant-a', annotations: { 'k8s.v1.cni.cncf.io/networks': 'ghost' } } })
  k.putNad('tenant-b', 'secret-net', { spec: { config: '{"cniVersion":"1.0.0","type":"bridge","name":"secret-net"}' } })
  const tenantArgs = (pod: string): string => `IgnoreUnknown=1;K8S_POD_NAMESPACE=tenant-a;K8S_POD_NAME=${pod}`
  const isolated = await code({ ...baseEnv, CNI_ARGS: tenantArgs('intruder') }, conf({ kubeconfig: k.kubeconfigPath, defaultPlugins: ['a'] }))
  t.equal(isolated.code, 116, 'another namespace\'s NAD: code 116')
  t.match(isolated.details, /^NR_CNI_NAD_FORBIDDEN: a pod in tenant-a may not use tenant-b\/secret-net: NADs of its own namespace or of default only/)
  t.equal((await code({ ...baseEnv, CNI_ARGS: tenantArgs('shared') }, conf({ kubeconfig: k.kubeconfigPath, defaultPlugins: ['a'] }))).code, 107, 'a global namespace is allowed (that NAD then does not exist: 107)')
  const own = await code({ ...baseEnv, CNI_ARGS: tenantArgs('own') }, conf({ kubeconfig: k.kubeconfigPath, defaultPlugins: ['a'] }))
  t.equal(own.code, 107, 'its own namespace is allowed')
  t.match(own.details, /tenant-a\/ghost/)
  const globals = await code({ ...baseEnv, CNI_ARGS: tenantArgs('intruder') }, conf({ kubeconfig: k.kubeconfigPath, defaultPlugins: ['a'], nadGlobalNamespaces: ['tenant-b'] }))
  t.not(globals.code, 116, `tenant-b made global: allowed (code ${globals.code} from the delegate)`)
  const off = await code({ ...baseEnv, CNI_ARGS: tenantArgs('intruder') }, conf({ kubeconfig: k.kubeconfigPath, defaultPlugins: ['a'], nadNamespaceIsolation: false }))
  t.not(off.code, 116, 'nadNamespaceIsolation: false turns the check off')
  for (const [field, value] of [['nadNamespaceIsolation', 'yes'], ['nadGlobalNamespaces', 'default'], ['nadGlobalNamespaces', ['Not_A_Namespace']]] as const) {
    t.equal((await code({ ...baseEnv, CNI_ARGS: tenantArgs('own') }, conf({ kubeconfig: k.kubeconfigPath, [field]: value }))).code, 7, `${field} ${JSON.stringify(value)}: code 7`)
  }

  const kc = JSON.parse(readFileSync(k.kubeconfigPath, 'utf8').trimStart().startsWith('{') ? readFileSync(k.kubeconfigPath, 'utf8') : JSON.stringify((await import('yaml')).parse(readFileSync(k.kubeconfigPath, 'utf8')))) as Record<string, unknown>
  const write = (file: string, text: string): string => { const p = join(dir, file); writeFileSync(p, text); return p }
  const yamlPath = write('kc.yaml', stringify(kc))
  const jsonPath = write('kc.json', JSON.stringify(kc))
  const users = kc.users as Array<{ user: Record<string, unknown> }>
  const badKcs: Array<[string, string, number, RegExp]> = [
    ['missing file', join(dir, 'nope.kubeconfig'), 106, /unreadable/],
    ['not YAML', write('kc-bad.yaml', 'a: [b\n'), 106, /not valid YAML/],
    ['no current-context', write('kc-noctx.json', JSON.stringify({ ...kc, 'current-context': '' })), 106, /current-context/],
    ['context not defined', write('kc-wrongctx.json', JSON.stringify({ ...kc, 'current-context': 'elsewhere' })), 106, /elsewhere/],
    ['exec credentials', write('kc-exec.json', JSON.stringify({ ...kc, users: users.map((u) => ({ ...u, user: { exec: { command: 'x' } } })) })), 106, /exec/],
    ['a wrong token', write('kc-token.json', JSON.stringify({ ...kc, users: users.map((u) => ({ ...u, user: { token: 'wrong' } })) })), 114, /HTTP 401/],
  ]
  for (const [label, path, want, re] of badKcs) {
    const r = await code({ ...baseEnv, CNI_ARGS: args('unknownnet') }, conf({ kubeconfig: path, defaultPlugins: ['a'] }))
    t.equal(r.code, want, `${label}: code ${want}`)
    t.match(r.details, re, label)
  }
  // a syntax error on the token's own line: the parser's message would quote it; the CNI error
  // (kubelet events, the 0644 log) carries only where it failed
  const TOKEN = 'sekrit-TOKEN-8c1f'
  const leaky: Array<[string, string, RegExp]> = [
    ['YAML, token line broken', write('kc-leak.yaml', stringify(kc).replace(/^(\s*)token: .*$/m, `$1token: "${TOKEN}\n$1  - [`) + `\nusers2: [${TOKEN}\n`), /not valid YAML \([A-Z_]+ at line \d+, column \d+; the file's content is not quoted: it holds credentials\)/],
    ['JSON, token value broken', write('kc-leak.json', JSON.stringify({ ...kc, users: users.map((u) => ({ ...u, user: { token: TOKEN } })) }).replace(`"${TOKEN}"`, `"${TOKEN}`)), /not valid JSON \(syntax error at line 1, column \d+; the file's content is not quoted/],
  ]
  for (const [label, path, re] of leaky) {
    const r = await code({ ...baseEnv, CNI_ARGS: args('unknownnet') }, conf({ kubeconfig: path, defaultPlugins: ['a'] }))
    t.equal(r.code, 106, `${label}: code 106`)
    t.match(r.details, re, `${label}: says where`)
    t.notMatch(r.details, /sekrit|8c1f/, `${label}: the token is not in the error`)
  }
  t.notMatch(readFileSync(logFile, 'utf8'), /sekrit|8c1f/, 'nor in the shim\'s log')
  // plain http://: refused unless the conf opts in
  const httpKc = write('kc-http.json', JSON.stringify({ ...kc, clusters: (kc.clusters as Array<{ name: string, cluster: Record<string, unknown> }>).map((c) => ({ ...c, cluster: { ...c.cluster, server: String(c.cluster.server).replace('https://', 'http://') } })) }))
  const plain = await code({ ...baseEnv, CNI_ARGS: args('unknownnet') }, conf({ kubeconfig: httpKc, defaultPlugins: ['a'] }))
  t.equal(plain.code, 106, 'an http:// server: code 106')
  t.match(plain.details, /is plain http:\/\/: the token and pod objects would travel unencrypted; use https:\/\/, or set "allowInsecureApi": true/)
  const optedIn = await code({ ...baseEnv, CNI_ARGS: args('unknownnet') }, conf({ kubeconfig: httpKc, defaultPlugins: ['a'], allowInsecureApi: true }))
  t.not(optedIn.code, 106, `with "allowInsecureApi": true the kubeconfig is accepted (then plain HTTP to the TLS stand-in fails: code ${optedIn.code})`)
  const badOpt = await code({ ...baseEnv, CNI_ARGS: args('unknownnet') }, conf({ kubeconfig: httpKc, defaultPlugins: ['a'], allowInsecureApi: 'yes' }))
  t.equal(badOpt.code, 7, '"allowInsecureApi" must be a boolean')
  const ghost = await code({ ...baseEnv, CNI_ARGS: args('no-such-pod') }, conf({ kubeconfig: k.kubeconfigPath, defaultPlugins: ['a'] }))
  t.equal(ghost.code, 104, 'a pod the API does not know (404) is not an error: the node defaults are used (and here their binary is missing)')
  for (const mode of ['slow', 'garbage'] as const) {
    k.setFault({ mode })
    const started = Date.now()
    const r = await code({ ...baseEnv, CNI_ARGS: args('unknownnet') }, conf({ kubeconfig: k.kubeconfigPath, defaultPlugins: ['a'] }))
    const ms = Date.now() - started
    t.equal(r.code, 11, `API ${mode}: code 11`)
    t.ok(ms >= 2000, `API ${mode}: retried through the ~2.5 s budget before giving up (${ms} ms)`)
  }
  // an answer past the shim's 4 MiB cap is refused while it streams in, not buffered
  k.setFault({ mode: 'flood' })
  const flooded = await code({ ...baseEnv, CNI_ARGS: args('unknownnet') }, conf({ kubeconfig: k.kubeconfigPath, defaultPlugins: ['a'] }))
  t.equal(flooded.code, 114, 'an 8 MiB pod answer: code 114')
  t.match(flooded.details, /GET \/api\/v1\/namespaces\/default\/pods\/unknownnet: answer larger than 4194304 bytes/)
  k.setFault({ mode: 'none' })
  for (const [label, path] of [['YAML', yamlPath], ['JSON', jsonPath], ['client-certificate', k.certKubeconfigPath]]) {
    const r = await code({ ...baseEnv, CNI_ARGS: args('unknownnet') }, conf({ kubeconfig: path, defaultPlugins: ['a'] }))
    t.equal(r.code, 103, `a ${label} kubeconfig reaches the API (the pod's network is then not found)`)
  }
})
