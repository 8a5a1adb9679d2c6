// The pure helpers that let kubectl talk to the Kubernetes API stand-in: discovery documents
// (lab/stand-ins/kube-discovery.ts), Table output (kube-table.ts), the protobuf OpenAPI v2
// document (kube-openapi.ts) and strategic merge patches as kubectl apply sends them
// (kube-patch.ts). test/system/lab-kubectl.test.ts runs the real kubectl against it all.
import t from 'tap'
import { discoveryDocument, prefixOf, SERVED_RESOURCES, servedResource } from '../../lab/stand-ins/kube-discovery.js'
import { openApiV2Document, protoField } from '../../lab/stand-ins/kube-openapi.js'
import { applyPatch, strategicMergePatch } from '../../lab/stand-ins/kube-patch.js'
import { humanDuration, tableVersionAccepted, toTable } from '../../lab/stand-ins/kube-table.js'
import type { KubeObject } from '../../lab/stand-ins/kube-object-store.js'

t.test('discovery: /api, /api/v1, /apis, a group and a group version; undefined elsewhere', async (t) => {
  t.same(discoveryDocument('/api', '127.0.0.1:6443'), { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1:6443' }] })
  const core = discoveryDocument('/api/v1', '') as { kind: string, groupVersion: string, resources: Array<Record<string, unknown>> }
  t.equal(core.kind, 'APIResourceList')
  t.equal(core.groupVersion, 'v1')
  t.same(core.resources.find((r) => r.name === 'pods'), {
    name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod',
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['po'],
  })
  t.match(core.resources.find((r) => r.name === 'nodes'), { namespaced: false, kind: 'Node' })
  const groups = discoveryDocument('/apis', '') as { kind: string, groups: Array<{ name: string, preferredVersion: unknown }> }
  t.equal(groups.kind, 'APIGroupList')
  t.same(groups.groups.map((g) => g.name), ['k8s.cni.cncf.io', 'whereabouts.cni.cncf.io', 'alpha.network.k8s.io', 'networking.k8s.io'])
  t.same(groups.groups[0]?.preferredVersion, { groupVersion: 'k8s.cni.cncf.io/v1', version: 'v1' })
  t.match(discoveryDocument('/apis/k8s.cni.cncf.io', ''), { kind: 'APIGroup', name: 'k8s.cni.cncf.io', versions: [{ groupVersion: 'k8s.cni.cncf.io/v1' }] })
  t.match(discoveryDocument('/apis/k8s.cni.cncf.io/v1/', ''), {
    kind: 'APIResourceList', groupVersion: 'k8s.cni.cncf.io/v1',
    resources: [{ name: 'network-attachment-definitions', singularName: 'network-attachment-definition', kind: 'NetworkAttachmentDefinition', namespaced: true, shortNames: ['net-attach-def'] }],
  })
  for (const p of ['/api/v2', '/apis/unknown.io', '/apis/k8s.cni.cncf.io/v9', '/api/v1/pods', '/apis/k8s.cni.cncf.io/v1/network-attachment-definitions', '/version', '/']) {
    t.equal(discoveryDocument(p, ''), undefined, `${p} is not a discovery document`)
  }
  t.equal(prefixOf({ group: '', version: 'v1' }), '/api/v1')
  t.equal(servedResource('/apis/whereabouts.cni.cncf.io/v1alpha1', 'ippools')?.kind, 'IPPool')
  t.equal(servedResource('/api/v1', 'secrets'), undefined)
  t.ok(SERVED_RESOURCES.every((r) => r.plural !== '' && r.kind !== ''))
})

t.test('Table: the Accept header kubectl get sends asks for meta.k8s.io/v1, plain JSON asks for none', async (t) => {
  t.equal(tableVersionAccepted('application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'), 'v1')
  t.equal(tableVersionAccepted('application/json;as=Table;v=v1beta1;g=meta.k8s.io, application/json'), 'v1beta1')
  t.equal(tableVersionAccepted('application/json'), undefined)
  t.equal(tableVersionAccepted(undefined), undefined)
  t.equal(tableVersionAccepted('application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json'), undefined)
  t.equal(tableVersionAccepted('application/yaml;as=Table;v=v1;g=meta.k8s.io'), undefined)
})

t.test('humanDuration matches apimachinery\'s HumanDuration', async (t) => {
  const s = 1000
  const cases: Array<[number, string]> = [
    [-5 * s, '<invalid>'], [-500, '0s'], [0, '0s'], [59 * s, '59s'], [119 * s, '119s'], [120 * s, '2m'], [125 * s, '2m5s'],
    [10 * 60 * s, '10m'], [179 * 60 * s, '179m'], [3 * 3600 * s, '3h'], [(3 * 3600 + 120) * s, '3h2m'], [8 * 3600 * s, '8h'],
    [47 * 3600 * s, '47h'], [48 * 3600 * s, '2d'], [(3 * 24 + 5) * 3600 * s, '3d5h'], [30 * 24 * 3600 * s, '30d'],
    [(2 * 365 + 3) * 24 * 3600 * s, '2y3d'], [9 * 365 * 24 * 3600 * s, '9y'],
  ]
  for (const [ms, want] of cases) t.equal(humanDuration(ms), want, `${ms} ms`)
})

t.test('toTable: pods get the real server\'s columns, other kinds Name and Age; rows carry metadata', async (t) => {
  const now = Date.parse('2026-01-01T00:10:00Z')
  const pod: KubeObject = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'web', namespace: 'ns1', creationTimestamp: '2026-01-01T00:00:00Z', labels: { app: 'web' } },
    spec: { nodeName: 'lab-node', containers: [{ name: 'a' }, { name: 'b' }] },
    status: { phase: 'Running', podIP: '10.66.1.7', containerStatuses: [{ ready: true, restartCount: 2 }, { ready: false, restartCount: 1 }] },
  }
  const table = toTable('Pod', [pod], { version: 'v1', resourceVersion: '9', now }) as {
    kind: string, apiVersion: string, metadata: unknown, columnDefinitions: Array<{ name: string, priority: number }>, rows: Array<{ cells: unknown[], object?: unknown }>
  }
  t.equal(table.kind, 'Table')
  t.equal(table.apiVersion, 'meta.k8s.io/v1')
  t.same(table.metadata, { resourceVersion: '9' })
  t.same(table.columnDefinitions.map((c) => `${c.name}:${c.priority}`), ['Name:0', 'Ready:0', 'Status:0', 'Restarts:0', 'Age:0', 'IP:1', 'Node:1', 'Nominated Node:1', 'Readiness Gates:1'])
  t.same(table.rows[0]?.cells, ['web', '1/2', 'Running', '3', '10m', '10.66.1.7', 'lab-node', '<none>', '<none>'])
  t.same(table.rows[0]?.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: pod.metadata })

  const bare: KubeObject = { metadata: { name: 'new', creationTimestamp: '2026-01-01T00:09:58Z', deletionTimestamp: '2026-01-01T00:09:59Z' } }
  const t2 = toTable('Pod', [bare], { version: 'v1beta1', resourceVersion: '1', now, includeObject: 'None' }) as { apiVersion: string, rows: Array<{ cells: unknown[], object?: unknown }> }
  t.equal(t2.apiVersion, 'meta.k8s.io/v1beta1')
  t.same(t2.rows[0]?.cells, ['new', '0/0', 'Terminating', '0', '2s', '<none>', '<none>', '<none>', '<none>'])
  t.notOk('object' in (t2.rows[0] ?? {}), 'includeObject=None: no object')

  const nad: KubeObject = { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', metadata: { name: 'bridge-fast', namespace: 'ns1' }, spec: { config: '{}' } }
  const t3 = toTable('NetworkAttachmentDefinition', [nad], { version: 'v1', resourceVersion: '1', now, includeObject: 'Object' }) as { columnDefinitions: Array<{ name: string }>, rows: Array<{ cells: unknown[], object?: unknown }> }
  t.same(t3.columnDefinitions.map((c) => c.name), ['Name', 'Age'])
  t.same(t3.rows[0]?.cells, ['bridge-fast', '<unknown>'], 'no creationTimestamp: the age is unknown')
  t.same(t3.rows[0]?.object, nad, 'includeObject=Object: the whole object')
})

t.test('the OpenAPI v2 document is gnostic protobuf: swagger "2.0" and info, nothing else', async (t) => {
  t.same([...protoField(1, 'ab')], [0x0a, 2, 0x61, 0x62])
  t.same([...protoField(2, Buffer.alloc(200)).subarray(0, 3)], [0x12, 0xc8, 0x01], 'a length ≥ 128 is a two-byte varint')
  t.same([...protoField(16, 'x')], [0x82, 0x01, 1, 0x78], 'a field number ≥ 16 is a two-byte tag')
  const doc = openApiV2Document('v9')
  const info = Buffer.concat([protoField(1, 'netrank Kubernetes API stand-in'), protoField(2, 'v9')])
  t.same(doc, Buffer.concat([Buffer.from([0x0a, 3]), Buffer.from('2.0'), Buffer.from([0x12, info.length]), info]))
})

t.test('strategic merge patches as kubectl apply sends them', async (t) => {
  const current = {
    metadata: { name: 'web', labels: { app: 'web', tier: 'one' }, annotations: { a: '1' }, finalizers: ['x', 'y'] },
    spec: { containers: [{ name: 'c', image: 'pause', args: ['-v'] }, { name: 'd', image: 'busybox' }], volumes: [{ name: 'v1' }] },
  }
  // kubectl 1.32's patch for a changed label and a changed image of container c
  const patch = {
    metadata: { labels: { tier: 'two' }, annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}\n' } },
    spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'd' }], containers: [{ image: 'pause:3', name: 'c' }] },
  }
  t.same(strategicMergePatch(current, patch), {
    metadata: { name: 'web', labels: { app: 'web', tier: 'two' }, annotations: { a: '1', 'kubectl.kubernetes.io/last-applied-configuration': '{}\n' }, finalizers: ['x', 'y'] },
    spec: { containers: [{ name: 'c', image: 'pause:3', args: ['-v'] }, { name: 'd', image: 'busybox' }], volumes: [{ name: 'v1' }] },
  }, 'named lists merge by name, directives are not stored')
  t.same(strategicMergePatch(current, {
    metadata: { labels: { tier: null }, '$deleteFromPrimitiveList/finalizers': ['x'] },
    spec: { '$setElementOrder/containers': [{ name: 'e' }, { name: 'c' }], containers: [{ name: 'd', $patch: 'delete' }, { name: 'e', image: 'new' }], volumes: { $patch: 'replace', x: 1 } },
  }), {
    metadata: { name: 'web', labels: { app: 'web' }, annotations: { a: '1' }, finalizers: ['y'] },
    spec: { containers: [{ name: 'e', image: 'new' }, { name: 'c', image: 'pause', args: ['-v'] }], volumes: { x: 1 } },
  }, '$patch delete and replace, $deleteFromPrimitiveList, $setElementOrder orders the list')
  t.same(strategicMergePatch({ spec: { ports: [{ containerPort: 80 }] } }, { spec: { ports: [{ containerPort: 81 }], $retainKeys: ['ports'] } }), { spec: { ports: [{ containerPort: 81 }] } }, 'other lists are replaced')
  t.same(applyPatch('application/strategic-merge-patch+json', current, { spec: { containers: [{ name: 'c', image: 'i' }] } }), strategicMergePatch(current, { spec: { containers: [{ name: 'c', image: 'i' }] } }))
  t.same(applyPatch('application/merge-patch+json', current, { spec: { containers: [{ name: 'c', image: 'i' }] } }), { ...current, spec: { ...current.spec, containers: [{ name: 'c', image: 'i' }] } }, 'a merge patch still replaces lists')
  t.same(current.metadata.labels, { app: 'web', tier: 'one' }, 'the target is untouched')
})
