// The Kubernetes API stand-in (lab/kube-api-stand-in.ts): auth, Kubernetes shapes, patch
// semantics, LIST selectors, WATCH replay, faults, and compatibility with the real
// @kubernetes/client-node 1.4 (KubeConfig + CoreV1Api + Watch) through its kubeconfigs.
import t from 'tap'
import { tsLoaderArgs } from '../support/ts-loader.js'
import { spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { request } from 'node:https'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, Watch } from '@kubernetes/client-node'
import { startKubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import type { KubeApiStandIn, KubeObject, KubePod } from '../../lab/stand-ins/kube-api-stand-in.js'
import { KubeObjectStore } from '../../lab/stand-ins/kube-object-store.js'
import { jsonPatch, mergePatch, PatchError } from '../../lab/stand-ins/kube-patch.js'
import { parseFieldSelector, parseLabelSelector, SelectorError } from '../../lab/stand-ins/kube-selectors.js'
import { generateStandInPki } from '../../lab/stand-ins/self-signed-cert.js'
import { tempDir } from '../support/netns.js'

interface WatchEvent { type: string, object: KubeObject }
interface ObjList { items: KubeObject[] }
interface Reply { status: number, body: string, json: unknown }
interface ReqOpts { method?: string, token?: string | null, body?: unknown, contentType?: string, accept?: string, cert?: { cert: Buffer, key: Buffer } }

async function call (s: KubeApiStandIn, path: string, o: ReqOpts = {}): Promise<Reply> {
  const ca = await readFile(s.caPath)
  const payload = o.body === undefined ? undefined : typeof o.body === 'string' ? o.body : JSON.stringify(o.body)
  const headers: Record<string, string> = {}
  const token = o.token === undefined ? s.token : o.token
  if (token !== null) headers.authorization = `Bearer ${token}`
  if (payload !== undefined) {
    headers['content-type'] = o.contentType ?? 'application/json'
    headers['content-length'] = String(Buffer.byteLength(payload)) // a DELETE body is not chunked by default
  }
  if (o.accept !== undefined) headers.accept = o.accept
  return await new Promise<Reply>((resolve, reject) => {
    const req = request(`${s.url}${path}`, { method: o.method ?? 'GET', headers, ca, ...(o.cert ?? {}), agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8')
        let json: unknown
        try { json = JSON.parse(body) } catch { json = undefined }
        resolve({ status: res.statusCode ?? 0, body, json })
      })
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/** Opens a WATCH and collects its events until `count` arrived. */
async function watchEvents (s: KubeApiStandIn, path: string, count: number, whileOpen: () => void = () => {}, accept?: string): Promise<WatchEvent[]> {
  const ca = await readFile(s.caPath)
  return await new Promise((resolve, reject) => {
    const events: WatchEvent[] = []
    const req = request(`${s.url}${path}`, { headers: { authorization: `Bearer ${s.token}`, ...(accept === undefined ? {} : { accept }) }, ca, agent: false }, (res) => {
      if (res.statusCode !== 200) { reject(new Error(`watch answered ${String(res.statusCode)}`)); return }
      let buf = ''
      res.on('data', (c: Buffer) => {
        buf += c.toString('utf8')
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          events.push(JSON.parse(buf.slice(0, nl)) as WatchEvent)
          buf = buf.slice(nl + 1)
          if (events.length === count) { req.destroy(); resolve(events); return }
        }
      })
      res.on('end', () => resolve(events))
      whileOpen()
    })
    req.on('error', (err) => { if (events.length < count) reject(err) })
    req.end()
  })
}

const pod = (name: string, extra: Record<string, unknown> = {}): KubePod => ({
  metadata: { name, namespace: 'ns1', labels: { app: 'web' }, annotations: { cni: 'bridge-fast' } },
  spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'pause' }] },
  ...extra,
})

t.test('the stand-in over HTTPS', async (t) => {
  const s = await startKubeApiStandIn({ dir: tempDir(t, 'nr-kube') })
  t.teardown(() => s.close())

  t.test('writes a token kubeconfig and a client-certificate kubeconfig for the same cluster', async (t) => {
    const tok = JSON.parse(await readFile(s.kubeconfigPath, 'utf8'))
    const crt = JSON.parse(await readFile(s.certKubeconfigPath, 'utf8'))
    t.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/)
    t.equal(tok.clusters[0].cluster.server, s.url)
    t.equal(Buffer.from(tok.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), await readFile(s.caPath, 'utf8'))
    t.equal(tok.users[0].user.token, s.token)
    t.equal(crt.clusters[0].cluster.server, s.url)
    t.equal(crt.clusters[0].cluster['certificate-authority'], s.caPath)
    t.match(await readFile(crt.users[0].user['client-certificate'], 'utf8'), /BEGIN CERTIFICATE/)
    t.equal(tok['current-context'], tok.contexts[0].name)
  })

  t.test('a request without credentials or with a wrong token gets a 401 Status', async (t) => {
    for (const token of [null, 'wrong-token', `${s.token}x`]) {
      const r = await call(s, '/api/v1/namespaces/ns1/pods/a', { token })
      t.equal(r.status, 401, `token ${String(token)}`)
      t.match(r.json, { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Unauthorized', code: 401 })
    }
    t.equal(s.requests.at(-1)?.auth, 'none')
  })

  t.test('a client certificate from another CA is not accepted, one from the stand-in CA is', async (t) => {
    const other = await generateStandInPki(tempDir(t, 'nr-otherca'), ['127.0.0.1'])
    const foreign = { cert: await readFile(other.clientCertPath), key: await readFile(other.clientKeyPath) }
    t.equal((await call(s, '/api/v1/pods', { token: null, cert: foreign })).status, 401)
    const kc = JSON.parse(await readFile(s.certKubeconfigPath, 'utf8'))
    const ours = { cert: await readFile(kc.users[0].user['client-certificate']), key: await readFile(kc.users[0].user['client-key']) }
    const r = await call(s, '/api/v1/pods', { token: null, cert: ours })
    t.equal(r.status, 200)
    t.equal(s.requests.at(-1)?.auth, 'cert')
  })

  t.test('a missing pod is a 404 Status with reason NotFound and the pod name', async (t) => {
    const r = await call(s, '/api/v1/namespaces/ns1/pods/nope')
    t.equal(r.status, 404)
    t.match(r.json, { kind: 'Status', reason: 'NotFound', code: 404, details: { name: 'nope', kind: 'pods' }, message: 'pods "nope" not found' })
    t.equal((await call(s, '/apis/unknown')).status, 404, 'an unknown path is 404 too')
  })

  t.test('putPod fills uid, resourceVersion and creationTimestamp, and GET returns the pod', async (t) => {
    const put = s.putPod(pod('p1'))
    t.match(put.metadata.uid, /^[0-9a-f-]{36}$/)
    t.match(put.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    t.match(put.metadata.resourceVersion, /^\d+$/)
    const r = await call(s, '/api/v1/namespaces/ns1/pods/p1')
    t.equal(r.status, 200)
    t.match(r.json, { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'p1', namespace: 'ns1', uid: put.metadata.uid, resourceVersion: put.metadata.resourceVersion } })
    const again = s.putPod(pod('p1'))
    t.equal(again.metadata.uid, put.metadata.uid, 'an upsert keeps the uid')
    t.ok(Number(again.metadata.resourceVersion) > Number(put.metadata.resourceVersion), 'an upsert gets a newer resourceVersion')
    t.throws(() => s.putPod({ metadata: {} } as unknown as KubePod), /metadata\.name/)
  })

  t.test('merge and strategic merge patches add annotations, and null deletes a key', async (t) => {
    const before = s.putPod(pod('p2', { metadata: { name: 'p2', namespace: 'ns1', annotations: { keep: 'k', drop: 'd' } } }))
    for (const contentType of ['application/merge-patch+json', 'application/strategic-merge-patch+json; charset=utf-8']) {
      const r = await call(s, '/api/v1/namespaces/ns1/pods/p2', {
        method: 'PATCH', contentType,
        body: { metadata: { annotations: { 'netrank.io/selection': '{"plugins":["a"]}', drop: null } } },
      })
      t.equal(r.status, 200, contentType)
      const got = s.getPod('ns1', 'p2')
      t.same(got?.metadata.annotations, { keep: 'k', 'netrank.io/selection': '{"plugins":["a"]}' }, contentType)
      t.equal(got?.metadata.uid, before.metadata.uid)
      s.putPod(pod('p2', { metadata: { name: 'p2', namespace: 'ns1', annotations: { keep: 'k', drop: 'd' } } }))
    }
  })

  t.test('a patch cannot change identity fields, metadata.uid is a precondition (as the kubelet\'s status patches use it), and a no-op patch keeps the resourceVersion', async (t) => {
    const before = s.putPod(pod('p3'))
    const r = await call(s, '/api/v1/namespaces/ns1/pods/p3', { method: 'PATCH', contentType: 'application/merge-patch+json', body: { metadata: { name: 'other' } } })
    t.equal(r.status, 200)
    t.match(r.json, { metadata: { name: 'p3', uid: before.metadata.uid, resourceVersion: before.metadata.resourceVersion } })
    const forged = await call(s, '/api/v1/namespaces/ns1/pods/p3', { method: 'PATCH', contentType: 'application/merge-patch+json', body: { metadata: { uid: 'forged', annotations: { a: 'b' } } } })
    t.equal(forged.status, 409, 'another uid: conflict')
    t.match(forged.json, { reason: 'Conflict', message: `Precondition failed: UID in precondition: forged, UID in object meta: ${String(before.metadata.uid)}` })
    t.equal(s.getPod('ns1', 'p3')?.metadata.annotations?.a, undefined, 'nothing applied')
    const own = await call(s, '/api/v1/namespaces/ns1/pods/p3', { method: 'PATCH', contentType: 'application/merge-patch+json', body: { metadata: { uid: before.metadata.uid, annotations: { a: 'b' } } } })
    t.equal(own.status, 200, 'its own uid: applied')
  })

  t.test('a JSON patch (client-node default) applies add, replace, remove and test', async (t) => {
    s.putPod(pod('p4'))
    const r = await call(s, '/api/v1/namespaces/ns1/pods/p4', {
      method: 'PATCH', contentType: 'application/json-patch+json',
      body: [{ op: 'test', path: '/metadata/annotations/cni', value: 'bridge-fast' }, { op: 'add', path: '/metadata/annotations/a~1b', value: 'x' }, { op: 'remove', path: '/metadata/annotations/cni' }],
    })
    t.equal(r.status, 200)
    t.same(s.getPod('ns1', 'p4')?.metadata.annotations, { 'a/b': 'x' })
  })

  t.test('bad patches get the Status the API server gives', async (t) => {
    s.putPod(pod('p5'))
    const cases: Array<[string, ReqOpts, number, string]> = [
      ['unknown media type', { contentType: 'application/apply-patch+yaml', body: {} }, 415, 'UnsupportedMediaType'],
      ['body not JSON', { contentType: 'application/merge-patch+json', body: '{nope' }, 400, 'BadRequest'],
      ['merge patch not an object', { contentType: 'application/merge-patch+json', body: [1] }, 400, 'BadRequest'],
      ['stale resourceVersion', { contentType: 'application/merge-patch+json', body: { metadata: { resourceVersion: '1' } } }, 409, 'Conflict'],
      ['JSON patch path missing', { contentType: 'application/json-patch+json', body: [{ op: 'remove', path: '/metadata/nothing' }] }, 422, 'Invalid'],
      ['JSON patch failed test', { contentType: 'application/json-patch+json', body: [{ op: 'test', path: '/metadata/name', value: 'x' }] }, 422, 'Invalid'],
      ['JSON patch unknown op', { contentType: 'application/json-patch+json', body: [{ op: 'move', path: '/a', from: '/b' }] }, 422, 'Invalid'],
    ]
    for (const [name, o, code, reason] of cases) {
      const r = await call(s, '/api/v1/namespaces/ns1/pods/p5', { method: 'PATCH', ...o })
      t.equal(r.status, code, name)
      t.match(r.json, { kind: 'Status', reason, code }, name)
    }
    const missing = await call(s, '/api/v1/namespaces/ns1/pods/ghost', { method: 'PATCH', contentType: 'application/merge-patch+json', body: {} })
    t.equal(missing.status, 404, 'patching a gone pod is NotFound')
  })

  t.test('LIST filters by spec.nodeName and by labels, across and within namespaces', async (t) => {
    s.putPod({ metadata: { name: 'l1', namespace: 'lst', labels: { app: 'probe', net: 'a' } }, spec: { nodeName: 'node-a' } })
    s.putPod({ metadata: { name: 'l2', namespace: 'lst', labels: { app: 'probe', net: 'b' } }, spec: { nodeName: 'node-b' } })
    s.putPod({ metadata: { name: 'l3', namespace: 'lst2', labels: { app: 'web' } }, spec: { nodeName: 'node-a' } })
    const names = (r: Reply): string[] => (r.json as ObjList).items.map((i) => `${String(i.metadata.namespace)}/${i.metadata.name}`)
    const all = await call(s, '/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-a')
    t.match(all.json, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: /^\d+$/ } })
    t.same(names(all), ['lst/l1', 'lst2/l3'])
    t.same(names(await call(s, '/api/v1/namespaces/lst/pods')), ['lst/l1', 'lst/l2'])
    t.same(names(await call(s, '/api/v1/namespaces/lst/pods?labelSelector=app%3Dprobe,net!%3Da')), ['lst/l2'])
    t.same(names(await call(s, '/api/v1/pods?labelSelector=app%3D%3Dweb&fieldSelector=metadata.namespace%3Dlst2')), ['lst2/l3'])
    const bad = await call(s, '/api/v1/pods?labelSelector=app%20in%20(a,b)')
    t.equal(bad.status, 400)
    t.match(bad.json, { reason: 'BadRequest', message: /set-based/ })
  })

  t.test('WATCH from resourceVersion N replays later changes, then streams live ones', async (t) => {
    const start = s.putPod({ metadata: { name: 'w1', namespace: 'wns' }, spec: { nodeName: 'node-w' } })
    s.putPod({ metadata: { name: 'w1', namespace: 'wns', annotations: { x: '1' } }, spec: { nodeName: 'node-w' } })
    const events = await watchEvents(s, `/api/v1/namespaces/wns/pods?watch=1&resourceVersion=${String(start.metadata.resourceVersion)}`, 3, () => {
      s.putPod({ metadata: { name: 'other-ns', namespace: 'elsewhere' } }) // not in this watch
      s.putPod({ metadata: { name: 'w2', namespace: 'wns' } })
      s.deletePod('wns', 'w1')
    })
    t.same(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['MODIFIED w1', 'ADDED w2', 'DELETED w1'])
    t.equal(events[0]?.object.metadata.annotations?.x, '1')
    const rvs = events.map((e) => Number(e.object.metadata.resourceVersion))
    t.same(rvs, [...rvs].sort((a, b) => a - b), 'resourceVersions increase')
  })

  t.test('WATCH without resourceVersion starts with the current objects as ADDED', async (t) => {
    s.putPod({ metadata: { name: 'c1', namespace: 'cur' } })
    const events = await watchEvents(s, '/api/v1/namespaces/cur/pods?watch=true', 2, () => { s.putPod({ metadata: { name: 'c2', namespace: 'cur' } }) })
    t.same(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED c1', 'ADDED c2'])
  })

  t.test('a WATCH with a field selector sees a pod leave and enter the selection', async (t) => {
    const p0 = s.putPod({ metadata: { name: 's1', namespace: 'sel' }, spec: { nodeName: 'n1' } })
    const events = await watchEvents(s, `/api/v1/pods?watch=1&fieldSelector=spec.nodeName%3Dn1&resourceVersion=${String(p0.metadata.resourceVersion)}`, 2, () => {
      s.putPod({ metadata: { name: 's1', namespace: 'sel' }, spec: { nodeName: 'n2' } })
      s.putPod({ metadata: { name: 's1', namespace: 'sel' }, spec: { nodeName: 'n1' } })
    })
    t.same(events.map((e) => e.type), ['DELETED', 'ADDED'])
  })

  t.test('a WATCH with a non-numeric resourceVersion is a 400', async (t) => {
    const r = await call(s, '/api/v1/pods?watch=1&resourceVersion=abc')
    t.equal(r.status, 400)
    t.match(r.json, { reason: 'BadRequest' })
  })

  t.test('WATCH with timeoutSeconds ends the stream', async (t) => {
    const events = await watchEvents(s, '/api/v1/namespaces/empty/pods?watch=1&timeoutSeconds=1', 1)
    t.same(events, [])
  })

  t.test('NADs and generic objects are served with GET and LIST', async (t) => {
    s.putNad('ns1', 'fast', { spec: { config: '' } })
    s.putNad('ns1', 'slow', { spec: { config: '{"cniVersion":"1.0.0","type":"bridge"}' } })
    const one = await call(s, '/apis/k8s.cni.cncf.io/v1/namespaces/ns1/network-attachment-definitions/slow')
    t.match(one.json, { kind: 'NetworkAttachmentDefinition', apiVersion: 'k8s.cni.cncf.io/v1', metadata: { name: 'slow', namespace: 'ns1' }, spec: { config: /bridge/ } })
    const list = await call(s, '/apis/k8s.cni.cncf.io/v1/namespaces/ns1/network-attachment-definitions')
    t.match(list.json, { kind: 'NetworkAttachmentDefinitionList' })
    t.same((list.json as ObjList).items.map((i) => i.metadata.name), ['fast', 'slow'])
    t.equal((await call(s, '/apis/k8s.cni.cncf.io/v1/namespaces/ns1/network-attachment-definitions/none')).status, 404)

    s.putObject('/apis/whereabouts.cni.cncf.io/v1alpha1/namespaces/kube-system/ippools/10.9.0.0-24', { spec: { range: '10.9.0.0/24', allocations: { 1: { id: 'c1', podref: 'ns1/p1' } } } })
    const pools = await call(s, '/apis/whereabouts.cni.cncf.io/v1alpha1/ippools')
    t.match(pools.json, { kind: 'IPPoolList', apiVersion: 'whereabouts.cni.cncf.io/v1alpha1', items: [{ kind: 'IPPool', metadata: { name: '10.9.0.0-24', namespace: 'kube-system' }, spec: { range: '10.9.0.0/24' } }] })
    t.match(s.getObject('/apis/whereabouts.cni.cncf.io/v1alpha1/namespaces/kube-system/ippools/10.9.0.0-24'), { spec: { range: '10.9.0.0/24' } })
    t.throws(() => s.putObject('/apis/whereabouts.cni.cncf.io/v1alpha1/ippools', {}), /not an object path/)
    t.throws(() => s.putObject('/nothing/here', {}), /not an object path/)
  })

  t.test('POST creates (409 when it exists), PUT replaces with a version check, DELETE removes', async (t) => {
    const created = await call(s, '/api/v1/namespaces/crud/pods', { method: 'POST', body: { metadata: { name: 'x1' }, spec: { nodeName: 'n' } } })
    t.equal(created.status, 201)
    t.match(created.json, { kind: 'Pod', metadata: { name: 'x1', namespace: 'crud' } })
    const gen = await call(s, '/api/v1/namespaces/crud/pods', { method: 'POST', body: { metadata: { generateName: 'gen-' } } })
    t.match(gen.json, { metadata: { name: /^gen-[0-9a-f]{5}$/ } })
    t.match((await call(s, '/api/v1/namespaces/crud/pods', { method: 'POST', body: { metadata: { name: 'x1' } } })).json, { code: 409, reason: 'AlreadyExists' })
    t.match((await call(s, '/api/v1/namespaces/crud/pods', { method: 'POST', body: { metadata: { name: 'x2', namespace: 'other' } } })).json, { code: 400 })
    t.match((await call(s, '/api/v1/namespaces/crud/pods', { method: 'POST', body: { metadata: {} } })).json, { code: 422 })
    t.match((await call(s, '/api/v1/namespaces/crud/pods', { method: 'POST', body: 'nope' })).json, { code: 400 })
    t.match((await call(s, '/api/v1/namespaces/crud/pods/x1', { method: 'PUT', body: { metadata: { name: 'x1', resourceVersion: '1' } } })).json, { code: 409, reason: 'Conflict' })
    const rv = (created.json as KubeObject).metadata.resourceVersion
    t.equal((await call(s, '/api/v1/namespaces/crud/pods/x1', { method: 'PUT', body: { metadata: { name: 'x1', resourceVersion: rv, labels: { a: 'b' } } } })).status, 200)
    t.same(s.getPod('crud', 'x1')?.metadata.labels, { a: 'b' })
    t.equal((await call(s, '/api/v1/namespaces/crud/pods/x1', { method: 'DELETE' })).status, 200)
    t.equal(s.getPod('crud', 'x1'), undefined)
    t.equal((await call(s, '/api/v1/namespaces/crud/pods/x1', { method: 'DELETE' })).status, 404)
    t.equal((await call(s, '/api/v1/namespaces/crud/pods', { method: 'DELETE' })).status, 405)
  })

  t.test('what kubectl needs: discovery, /openapi/v2, Tables, DeleteOptions, Invalid with causes', async (t) => {
    t.match((await call(s, '/api')).json, { kind: 'APIVersions', versions: ['v1'] })
    t.match((await call(s, '/api/v1')).json, { kind: 'APIResourceList', resources: [{ name: 'pods', shortNames: ['po'] }] })
    t.match((await call(s, '/apis')).json, { kind: 'APIGroupList', groups: [{ name: 'k8s.cni.cncf.io' }] })
    t.match((await call(s, '/apis/k8s.cni.cncf.io/v1')).json, { kind: 'APIResourceList', resources: [{ name: 'network-attachment-definitions', shortNames: ['net-attach-def'] }] })
    t.equal((await call(s, '/apis/k8s.cni.cncf.io/v2')).status, 404)
    t.equal((await call(s, '/api', { token: null })).status, 401, 'discovery needs credentials too')
    const openapi = await call(s, '/openapi/v2')
    t.equal(openapi.status, 200)
    t.same([...Buffer.from(openapi.body, 'latin1').subarray(0, 6)], [0x0a, 3, 0x32, 0x2e, 0x30, 0x12], 'protobuf: swagger "2.0", then info')
    t.equal((await call(s, '/openapi/v3')).status, 404, 'no OpenAPI v3: kubectl then validates with v2')

    s.putPod(pod('tbl', { status: { phase: 'Running', podIP: '10.66.1.9' } }))
    const accept = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json'
    const one = await call(s, '/api/v1/namespaces/ns1/pods/tbl', { accept })
    t.match(one.json, { kind: 'Table', apiVersion: 'meta.k8s.io/v1', rows: [{ cells: ['tbl', '0/1', 'Running', '0', /^\d+s$/, '10.66.1.9', 'node-1', '<none>', '<none>'], object: { kind: 'PartialObjectMetadata', metadata: { name: 'tbl', namespace: 'ns1' } } }] })
    const list = await call(s, '/api/v1/pods?fieldSelector=metadata.name%3Dtbl', { accept })
    t.equal((list.json as { rows: unknown[] }).rows.length, 1, 'a Table LIST honours selectors')
    t.match((await call(s, '/api/v1/namespaces/ns1/pods/tbl')).json, { kind: 'Pod' }, 'plain JSON without as=Table')
    const watched = await watchEvents(s, '/api/v1/namespaces/ns1/pods?watch=true&fieldSelector=metadata.name%3Dtbl', 1, () => {}, accept)
    t.match(watched, [{ type: 'ADDED', object: { kind: 'Table', rows: [{ cells: ['tbl', '0/1', 'Running'] }] } }], 'kubectl get -w: events carry one-row Tables')

    const uid = s.getPod('ns1', 'tbl')?.metadata.uid ?? ''
    const stale = await call(s, '/api/v1/namespaces/ns1/pods/tbl', { method: 'DELETE', body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'other' } } })
    t.match(stale.json, { code: 409, reason: 'Conflict', message: /UID in precondition: other/ })
    const del = await call(s, '/api/v1/namespaces/ns1/pods/tbl', { method: 'DELETE', body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', preconditions: { uid } } })
    t.equal(del.status, 200)
    t.equal(s.getPod('ns1', 'tbl'), undefined)
    t.match((await call(s, '/api/v1/namespaces/ns1/pods/tbl', { method: 'DELETE', body: {} })).json, { code: 404, message: 'pods "tbl" not found' })

    t.match((await call(s, '/api/v1/namespaces/ns1/pods', { method: 'POST', body: { kind: 'Pod', metadata: {} } })).json, {
      code: 422, reason: 'Invalid', message: 'Pod "" is invalid: metadata.name: Required value: name or generateName is required',
      details: { name: '', kind: 'Pod', causes: [{ reason: 'FieldValueRequired', field: 'metadata.name' }] },
    })
  })

  t.test('faults: error500 and garbage answer badly, slow answers late, refuse drops connections', async (t) => {
    s.putPod(pod('f1'))
    t.teardown(() => s.setFault({ mode: 'none' }))
    s.setFault({ mode: 'error500' })
    const r500 = await call(s, '/api/v1/namespaces/ns1/pods/f1')
    t.equal(r500.status, 500)
    t.match(r500.json, { kind: 'Status', reason: 'InternalError', code: 500 })
    s.setFault({ mode: 'garbage' })
    const g = await call(s, '/api/v1/namespaces/ns1/pods/f1')
    t.equal(g.status, 200)
    t.equal(g.json, undefined, 'the body is not JSON')
    s.setFault({ mode: 'slow', delayMs: 300 })
    const started = Date.now()
    t.equal((await call(s, '/api/v1/namespaces/ns1/pods/f1')).status, 200)
    t.ok(Date.now() - started >= 290, 'the answer did not come before the delay') // a lower bound only
    s.setFault({ mode: 'refuse' })
    await t.rejects(call(s, '/api/v1/namespaces/ns1/pods/f1'), /ECONNRESET|socket hang up|disconnected/)
    s.setFault({ mode: 'none' })
    t.equal((await call(s, '/api/v1/namespaces/ns1/pods/f1')).status, 200, 'healthy again')
    t.throws(() => s.setFault({ mode: 'flaky' as unknown as 'none' }), /unknown fault mode "flaky"/)
    t.throws(() => s.setFault({ mode: 'slow', delayMs: -1 }), /delayMs/)
  })

  t.test('@kubernetes/client-node 1.4 reads, lists, patches and watches pods through both kubeconfigs', async (t) => {
    for (const path of [s.kubeconfigPath, s.certKubeconfigPath]) {
      const kc = new KubeConfig()
      kc.loadFromFile(path)
      const api = kc.makeApiClient(CoreV1Api)
      s.putPod({ metadata: { name: 'cn1', namespace: 'cn', annotations: { cni: 'a' } }, spec: { nodeName: 'node-cn', containers: [{ name: 'c', image: 'pause' }] } })
      const got = await api.readNamespacedPod({ name: 'cn1', namespace: 'cn' })
      t.equal(got.metadata?.annotations?.cni, 'a', path)
      const list = await api.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-cn' })
      t.same(list.items.map((p) => p.metadata?.name), ['cn1'])
      t.match(list.metadata?.resourceVersion, /^\d+$/)
      await api.patchNamespacedPod({ name: 'cn1', namespace: 'cn', body: { metadata: { annotations: { cni: null, 'netrank.io/selection': '{}' } } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      t.same(s.getPod('cn', 'cn1')?.metadata.annotations, { 'netrank.io/selection': '{}' })
      await t.rejects(api.readNamespacedPod({ name: 'gone', namespace: 'cn' }), { code: 404 })

      const seen: string[] = []
      const w = new Watch(kc)
      let finish: () => void = () => {}
      const allSeen = new Promise<void>((resolve) => { finish = resolve })
      const ctl = await w.watch('/api/v1/namespaces/cn/pods', { resourceVersion: list.metadata?.resourceVersion }, (type, obj: KubeObject) => {
        seen.push(`${type} ${obj.metadata.name}`)
        if (seen.length === 3) finish()
      }, () => {})
      s.putPod({ metadata: { name: 'cn2', namespace: 'cn' } })
      s.deletePod('cn', 'cn2')
      await allSeen
      ctl.abort()
      t.same(seen, ['MODIFIED cn1', 'ADDED cn2', 'DELETED cn2'], path)
      s.deletePod('cn', 'cn1')
    }
  })
})

t.test('the store says expired when a WATCH starts before its kept history', async (t) => {
  const store = new KubeObjectStore({ historyLimit: 2 })
  const ref = { prefix: '/api/v1', plural: 'pods', namespace: 'a' }
  for (const n of ['a', 'b', 'c', 'd']) store.put({ ...ref, name: n }, { metadata: {} })
  t.equal(store.subscribe(ref, 1, () => {}), 'expired')
  const seen: string[] = []
  const stop = store.subscribe(ref, 3, (e) => seen.push(e.object.metadata.name))
  t.type(stop, 'function')
  t.same(seen, ['c', 'd'])
  t.throws(() => store.put(ref, { metadata: {} }), /name/)
  t.throws(() => new KubeObjectStore({ historyLimit: 0 }), /historyLimit/)
})

t.test('patch helpers follow RFC 7386 and RFC 6902', async (t) => {
  t.same(mergePatch({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { b: null, d: 3 }, l: [3] }), { a: { c: 2, d: 3 }, l: [3] })
  t.same(mergePatch({ a: 1 }, { a: { b: null } }), { a: {} })
  t.same(jsonPatch({ l: [1, 3] }, [{ op: 'add', path: '/l/1', value: 2 }, { op: 'add', path: '/l/-', value: 4 }, { op: 'replace', path: '/l/0', value: 0 }]), { l: [0, 2, 3, 4] })
  t.throws(() => jsonPatch({}, { op: 'add' }), PatchError)
  t.throws(() => jsonPatch({}, [{ op: 'add', path: 'no-slash', value: 1 }]), /must start with/)
  t.throws(() => jsonPatch({ l: [] }, [{ op: 'add', path: '/l/5', value: 1 }]), /out of range/)
  t.throws(() => jsonPatch({}, [{ path: '/a' }]), /"op" and "path"/)
})

t.test('selectors: equality forms match, malformed ones are rejected with the term', async (t) => {
  const o = { metadata: { name: 'n', labels: { app: 'x', tier: 'db' } }, spec: { nodeName: 'n1' } }
  const table: Array<[string, 'field' | 'label', boolean]> = [
    ['spec.nodeName=n1', 'field', true], ['spec.nodeName==n1', 'field', true], ['spec.nodeName!=n1', 'field', false],
    ['spec.missing=', 'field', true], ['app=x,tier=db', 'label', true], ['app!=x', 'label', false], ['tier', 'label', true],
    ['!tier', 'label', false], ['other!=y', 'label', true], ['', 'label', true],
  ]
  for (const [sel, kind, want] of table) {
    t.equal((kind === 'field' ? parseFieldSelector(sel) : parseLabelSelector(sel))(o), want, `${kind} ${sel}`)
  }
  t.throws(() => parseFieldSelector('spec.nodeName'), SelectorError)
  t.throws(() => parseLabelSelector('app notin (a)'), /set-based/)
  t.throws(() => parseLabelSelector('=x'), /invalid label selector term "=x"/)
})

t.test('run standalone, it prints its URL and kubeconfig as JSON and stops on SIGTERM', async (t) => {
  const dir = tempDir(t, 'nr-kube-main')
  const loader = tsLoaderArgs()
  const script = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'lab', 'stand-ins', 'kube-api-stand-in.ts')
  const child = spawn(process.execPath, [...loader, script, '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const line = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); if (out.includes('\n')) resolve(out.split('\n')[0] ?? '') })
    child.once('exit', (code) => reject(new Error(`exited ${String(code)} before printing`)))
  })
  const info = JSON.parse(line)
  t.match(info, { standIn: 'kubernetes-api', url: /^https:\/\/127\.0\.0\.1:\d+$/, kubeconfigPath: join(dir, 'kubeconfig.json'), pid: child.pid })
  const kc = new KubeConfig()
  kc.loadFromFile(info.kubeconfigPath)
  const list = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces()
  t.same(list.items, [])
  const code = await new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM') })
  t.equal(code, 0)

  const bad = spawn(process.execPath, [...loader, script], { stdio: ['ignore', 'ignore', 'pipe'] })
  let err = ''
  bad.stderr.on('data', (c: Buffer) => { err += c.toString() })
  t.equal(await new Promise((resolve) => bad.once('exit', resolve)), 64)
  t.match(err, /usage: kube-api-stand-in --dir DIR/)
})
