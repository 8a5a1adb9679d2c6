// The roles cover every Kubernetes API call the code makes, and grant nothing that neither the
// code nor the list of calls planned by an open issue needs: the shim's own ClusterRole
// (netrank-cni) for cni/, the agent's (netrank, its Role for the shim's TokenRequest, and the
// node-proxy component's ClusterRole) for collectors/, agent/ and cli/. The calls are
// found by scanning cni/, collectors/, agent/ and cli/ (comments stripped) against an
// explicit table; a line that looks like an API call but matches no table entry fails the
// test, so a new call cannot slip past RBAC unnoticed. The scan over-approximates (a
// message naming an endpoint counts as a call): that can only demand more coverage.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { parseAllDocuments } from 'yaml'
import { MANIFESTS, REPO_ROOT } from '../support/kustomize.js'

/** [apiGroup, resource, verb] */
type Permission = readonly [string, string, string]
const key = (p: Permission): string => `${p[0] === '' ? 'core' : p[0]}/${p[1]}:${p[2]}`

interface CallPattern { call: string, re: RegExp, needs: Permission[] }

// Every way our code reaches the API server or the kubelet, and what RBAC it needs.
const CALLS: CallPattern[] = [
  // hand-written client of the shim (cni/kube-client.ts, node:https)
  { call: 'GET a pod by path', re: /'GET',\s*`\/api\/v1\/namespaces\/[^`]*\/pods\/\$\{/, needs: [['', 'pods', 'get']] },
  { call: 'PATCH a pod by path', re: /'PATCH',\s*`\/api\/v1\/namespaces\/[^`]*\/pods\/\$\{/, needs: [['', 'pods', 'patch']] },
  { call: 'GET a NetworkAttachmentDefinition by path', re: /'GET',\s*`\/apis\/k8s\.cni\.cncf\.io\/v1\/namespaces\/[^`]*\/network-attachment-definitions\/\$\{/, needs: [['k8s.cni.cncf.io', 'network-attachment-definitions', 'get']] },
  // @kubernetes/client-node (the agent)
  { call: 'CoreV1Api.readNamespacedPod', re: /\.readNamespacedPod\(/, needs: [['', 'pods', 'get']] },
  { call: 'CoreV1Api.patchNamespacedPod', re: /\.patchNamespacedPod\(/, needs: [['', 'pods', 'patch']] },
  { call: 'CoreV1Api.listNamespacedPod / listPodForAllNamespaces', re: /\.(listNamespacedPod|listPodForAllNamespaces)\(/, needs: [['', 'pods', 'list']] },
  { call: 'a pod informer or watch (list, then watch)', re: /['"`]\/api\/v1\/(namespaces\/[^/'"`]+\/)?pods['"`?]/, needs: [['', 'pods', 'list'], ['', 'pods', 'watch']] },
  { call: 'IPPools through CustomObjectsApi, an informer or a watch', re: /ippools/, needs: [['whereabouts.cni.cncf.io', 'ippools', 'list'], ['whereabouts.cni.cncf.io', 'ippools', 'watch']] },
  { call: 'CustomObjectsApi.getNamespacedCustomObject of a NAD', re: /getNamespacedCustomObject\(.*network-attachment-definitions/, needs: [['k8s.cni.cncf.io', 'network-attachment-definitions', 'get']] },
  { call: 'list/watch NADs', re: /(list|watch)\w*CustomObject\w*\(.*network-attachment-definitions|['"`]\/apis\/k8s\.cni\.cncf\.io\/v1\/(namespaces\/[^/'"`]+\/)?network-attachment-definitions['"`?]/, needs: [['k8s.cni.cncf.io', 'network-attachment-definitions', 'list'], ['k8s.cni.cncf.io', 'network-attachment-definitions', 'watch']] },
  // the kubelet (direct on :10250, or through the API server's node proxy)
  { call: 'kubelet /metrics/cadvisor', re: /\/metrics\/cadvisor/, needs: [['', 'nodes/metrics', 'get']] },
  { call: 'kubelet /stats/summary', re: /\/stats\/summary/, needs: [['', 'nodes/stats', 'get']] },
  { call: 'API server node proxy', re: /\/api\/v1\/nodes\/[^'"`]*\/proxy\//, needs: [['', 'nodes/proxy', 'get']] },
  { call: 'a node informer (list, then watch)', re: /['"`]\/api\/v1\/nodes['"`?]/, needs: [['', 'nodes', 'list'], ['', 'nodes', 'watch']] },
  { call: 'TokenRequest for a service account (the shim\'s token)', re: /\/serviceaccounts\/\$\{[^`]*\}\/token`/, needs: [['', 'serviceaccounts/token', 'create']] },
  // CNI-Genie's network isolation (docs/isolation.md): the paths are built in contract/logical-network.ts
  { call: 'the shim lists a namespace\'s physical and logical networks', re: /isolationPath\(PHYSICAL_PLURAL,.*isolationPath\(LOGICAL_PLURAL,/, needs: [['alpha.network.k8s.io', 'physicalnetworks', 'list'], ['alpha.network.k8s.io', 'logicalnetworks', 'list']] },
  { call: 'the policy engine writes a logical network\'s Valid condition', re: /isolationPath\(LOGICAL_PLURAL,[^)]*\)\}\/status/, needs: [['alpha.network.k8s.io', 'logicalnetworks/status', 'patch']] },
  { call: 'an Event posted (policy engine)', re: /`\/api\/v1\/namespaces\/\$\{[^}]*\}\/events`/, needs: [['', 'events', 'create']] },
  { call: 'NetworkPolicies watched (policy engine)', re: /['"`]\/apis\/networking\.k8s\.io\/v1\/networkpolicies['"`]|POLICY_PATHS\.networkPolicies/, needs: [['networking.k8s.io', 'networkpolicies', 'list'], ['networking.k8s.io', 'networkpolicies', 'watch']] },
  { call: 'logical networks watched (policy engine, ipam collector)', re: /(POLICY_PATHS|ISOLATION_PATHS)\.logical\b/, needs: [['alpha.network.k8s.io', 'logicalnetworks', 'list'], ['alpha.network.k8s.io', 'logicalnetworks', 'watch']] },
  { call: 'physical networks watched (policy engine, ipam collector)', re: /(POLICY_PATHS|ISOLATION_PATHS)\.physical\b/, needs: [['alpha.network.k8s.io', 'physicalnetworks', 'list'], ['alpha.network.k8s.io', 'physicalnetworks', 'watch']] },
  { call: 'CoreV1Api.readNode / GET a node', re: /\.readNode\(|['"`]\/api\/v1\/nodes\/\$\{[^}]*\}['"`]/, needs: [['', 'nodes', 'get']] },
]

// Lines that reach the API and must match a CALLS entry: API paths, client-node calls.
const LOOKS_LIKE_API_CALL = /\/api\/v1\/|\/apis\/[a-z0-9.-]+\.[a-z]+\/v\d|\.(read|list|patch|create|replace|delete|watch)\w*(Namespaced|ForAllNamespaces|CustomObject|Node)\w*\(|makeInformer\(/

// Granted for calls an open issue plans and the code does not make yet; each must turn
// into a CALLS match when that code lands (then remove it here).
const PLANNED: Array<{ permission: Permission, why: string }> = [
  { permission: ['', 'pods', 'list'], why: 'the agent follows its node\'s pods (attribution, hostNetwork exclusion, probe pods) with an informer' },
  { permission: ['', 'pods', 'watch'], why: 'same informer' },
  { permission: ['whereabouts.cni.cncf.io', 'ippools', 'list'], why: 'the ipam collector follows whereabouts IPPools' },
  { permission: ['whereabouts.cni.cncf.io', 'ippools', 'watch'], why: 'same' },
  { permission: ['', 'nodes/metrics', 'get'], why: 'kubelet /metrics/cadvisor on :10250' },
  { permission: ['', 'nodes/stats', 'get'], why: 'kubelet /stats/summary on :10250' },
]

/** Comments out, strings kept (a `//` after `:` is a URL, not a comment). */
function stripComments (source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
}

interface Found { file: string, line: number, call: string, needs: Permission[] }

/** The API calls in one source text, and the lines that look like calls but match nothing. */
function scan (file: string, source: string): { found: Found[], unmapped: Array<{ file: string, line: number, text: string }> } {
  const found: Found[] = []
  const unmapped: Array<{ file: string, line: number, text: string }> = []
  stripComments(source).split('\n').forEach((text, i) => {
    const hits = CALLS.filter((c) => c.re.test(text))
    for (const h of hits) found.push({ file, line: i + 1, call: h.call, needs: h.needs })
    if (hits.length === 0 && LOOKS_LIKE_API_CALL.test(text)) unmapped.push({ file, line: i + 1, text: text.trim() })
  })
  return { found, unmapped }
}

type RbacDoc = { kind: string, metadata: { name: string }, rules?: Array<{ apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[] }> }

function rbacDocs (file: string): RbacDoc[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON() as RbacDoc)
}

const BASE_RBAC = rbacDocs(join(MANIFESTS, 'base', 'rbac.yaml'))
const NODE_PROXY_RBAC = rbacDocs(join(MANIFESTS, 'components', 'node-proxy', 'rbac-node-proxy.yaml'))

/** The permissions of the named roles (ClusterRole or Role) of `docs`. */
function granted (docs: RbacDoc[], names: string[]): Set<string> {
  const out = new Set<string>()
  for (const role of docs.filter((d) => (d.kind === 'ClusterRole' || d.kind === 'Role') && names.includes(d.metadata.name))) {
    for (const r of role.rules ?? []) for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) out.add(key([g, res, v]))
  }
  return out
}

/** What each identity may do: the shim's for cni/, the agent's (with the node-proxy component) for the rest. */
const SHIM_RULES = (): Set<string> => granted(BASE_RBAC, ['netrank-cni'])
const AGENT_RULES = (): Set<string> => new Set([...granted(BASE_RBAC, ['netrank', 'netrank-shim-token']), ...granted(NODE_PROXY_RBAC, ['netrank-node-proxy'])])
const rulesFor = (file: string): Set<string> => file.startsWith('cni/') ? SHIM_RULES() : AGENT_RULES()

// every product folder that can reach the API server (the lab's stand-ins are not product)
const SOURCES = ['cni', 'collectors', 'agent', 'cli'].flatMap((dir) =>
  readdirSync(join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => `${dir}/${f}`))

t.test('every API call in cni/ is covered by the shim\'s ClusterRole, in collectors/, agent/ and cli/ by the agent\'s roles', async (t) => {
  const all = SOURCES.map((f) => scan(f, readFileSync(join(REPO_ROOT, f), 'utf8')))
  const found = all.flatMap((s) => s.found)
  const unmapped = all.flatMap((s) => s.unmapped)
  t.same(unmapped, [], 'every line that reaches the API matches a row of CALLS (add a row, and the rule it needs)')
  t.ok(found.length >= 3, `found ${found.length} calls, the shim's three at least`)
  for (const f of found) {
    for (const p of f.needs) t.ok(rulesFor(f.file).has(key(p)), `${f.file}:${f.line} ${f.call} needs ${key(p)}`)
  }
  // the shim's calls are in the code today: check they are seen
  const shim = found.filter((f) => f.file === 'cni/kube-client.ts').map((f) => f.call)
  t.ok(found.some((f) => f.file === 'agent/shim-token.ts' && f.call.startsWith('TokenRequest')), 'sees the agent\'s TokenRequest')
  for (const c of ['GET a pod by path', 'PATCH a pod by path', 'GET a NetworkAttachmentDefinition by path']) t.ok(shim.includes(c), `sees the shim's ${c}`)
})

t.test('no role grants what neither its code nor a planned call needs; nodes/proxy only in its component; one write beyond patch', async (t) => {
  const scanned = SOURCES.map((f) => ({ f, found: scan(f, readFileSync(join(REPO_ROOT, f), 'utf8')).found }))
  const usedBy = (shim: boolean): Set<string> => new Set(scanned.filter((x) => x.f.startsWith('cni/') === shim).flatMap((x) => x.found.flatMap((c) => c.needs.map(key))))
  const planned = new Map(PLANNED.map((p) => [key(p.permission), p.why]))
  const shimUsed = usedBy(true)
  for (const r of SHIM_RULES()) t.ok(shimUsed.has(r), `the shim's ${r} is needed by cni/`)
  t.same([...SHIM_RULES()].sort(), ['alpha.network.k8s.io/logicalnetworks:list', 'alpha.network.k8s.io/physicalnetworks:list', 'core/pods:get', 'core/pods:patch', 'k8s.cni.cncf.io/network-attachment-definitions:get'], 'the shim: get/patch pods, get NADs, list logical/physical networks, nothing else')
  const agentUsed = usedBy(false)
  for (const r of AGENT_RULES()) t.ok(agentUsed.has(r) || planned.has(r), `the agent's ${r} is needed by the code or planned`)
  for (const [p, why] of planned) {
    t.ok(AGENT_RULES().has(p), `planned ${p} is granted`)
    if (agentUsed.has(p)) t.comment(`${p} is matched in the code now; once that is a real call (not a message naming the endpoint), remove it from PLANNED`)
    else t.comment(`${p} granted ahead of the code (${why})`)
  }
  t.notOk(granted(BASE_RBAC, ['netrank', 'netrank-shim-token']).has('core/nodes/proxy:get'), 'the base grants no nodes/proxy (any kubelet API): only the node-proxy component does')
  const all = [...SHIM_RULES(), ...AGENT_RULES()]
  t.same(all.filter((r) => /:(\*|create|update|delete|deletecollection|escalate|bind|impersonate)$/.test(r)).sort(), ['core/events:create', 'core/serviceaccounts/token:create'], 'no write verbs beyond patch, no wildcards, but the shim\'s TokenRequest and the policy engine\'s Events')
  const tokenRule = BASE_RBAC.find((d) => d.kind === 'Role' && d.metadata.name === 'netrank-shim-token')?.rules?.[0]
  t.same(tokenRule?.resourceNames, ['netrank-cni'], 'TokenRequest for the shim\'s service account only')
})

t.test('the scanner recognises client-node calls, paths and kubelet endpoints, and flags unknown calls', async (t) => {
  const cases: Array<[string, string[]]> = [
    ['const r = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${node}` })', ['core/pods:list']],
    ['const inf = makeInformer(kc, \'/api/v1/pods\', list)', ['core/pods:list', 'core/pods:watch']],
    ['await custom.listClusterCustomObject({ group: \'whereabouts.cni.cncf.io\', version: \'v1alpha1\', plural: \'ippools\' })', ['whereabouts.cni.cncf.io/ippools:list', 'whereabouts.cni.cncf.io/ippools:watch']],
    ['const url = `https://${host}:10250/metrics/cadvisor`', ['core/nodes/metrics:get']],
    ['const url = `/api/v1/nodes/${node}/proxy/stats/summary`', ['core/nodes/stats:get', 'core/nodes/proxy:get']],
    ['await core.readNode({ name })', ['core/nodes:get']],
  ]
  for (const [line, want] of cases) {
    const { found, unmapped } = scan('x.ts', line)
    t.same(found.flatMap((f) => f.needs.map(key)).sort(), want.sort(), line)
    t.same(unmapped, [], `${line}: mapped`)
  }
  const unknown = scan('x.ts', 'await core.deleteNamespacedPod({ name, namespace })\nconst u = `/api/v1/namespaces/${ns}/secrets/${n}`')
  t.equal(unknown.unmapped.length, 2, 'a delete and a secrets path match no row and are reported')
  t.same(scan('x.ts', '// GET /api/v1/namespaces/x/pods/y\n/* listPodForAllNamespaces( */').found, [], 'comments are not calls')
  t.equal(stripComments("const u = 'http://127.0.0.1:9797' // agent"), "const u = 'http://127.0.0.1:9797' ", 'a URL is not a comment')
})
