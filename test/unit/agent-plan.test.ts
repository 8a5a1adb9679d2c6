// The agent's side of the shim's fast path: POST /v1/plan (pod from the informer, a GET on a
// miss or an older pod of that name, NADs, the smart selection audited), POST /v1/pod-status
// (queued, retried, uid precondition, superseded), the plan answer's validation, and the
// socket's permissions.
import t from 'tap'
import type { Test } from 'tap'
import { mkdtemp, rm } from 'node:fs/promises'
import { lstatSync, statSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createAgent } from '../../agent/agent.js'
import { parseConfig } from '../../agent/config/load-config.js'
import { buildSocketServer, listenOnSocket } from '../../agent/http/socket-server.js'
import { KubeApiError } from '../../collectors/kube-api.js'
import { PodStatusQueue, type PodStatusResult } from '../../agent/pod-status-queue.js'
import { validatePlanAnswer, type PodStatusRequest } from '../../contract/plan-api.js'
import { RECORD_FORMAT, writeRecord, type AttachmentRecord } from '../../contract/attachment-record.js'
import type { PlanPodObject } from '../../agent/plan-kube.js'

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nr-plan-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

interface FakeKube {
  cache: Map<string, PlanPodObject>
  api: Map<string, PlanPodObject>
  nads: Map<string, Record<string, unknown>>
  calls: string[]
  patches: PodStatusRequest[]
  failGet?: boolean
}

async function setup (t: Test, fake: FakeKube) {
  const dir = await tempDir(t)
  const config = parseConfig({
    cni: { stateDir: join(dir, 'state') },
    node: 'plan-node',
    listen: { port: 0 },
    plugins: [{ name: 'fast' }, { name: 'slow' }],
    collectors: { static: { kpis: [{ plugin: 'fast', kpi: 'latencySeconds', value: 0.0001 }, { plugin: 'fast', kpi: 'capacityBps', value: 1e10 }, { plugin: 'slow', kpi: 'latencySeconds', value: 0.05 }, { plugin: 'slow', kpi: 'capacityBps', value: 1e8 }] } },
    selector: { exploreEvery: 0 },
    audit: { dir: join(dir, 'audit') },
  })
  const agent = await createAgent(config, {
    planKube: {
      cachedPod: async (ns, name) => { fake.calls.push(`cache ${ns}/${name}`); return fake.cache.get(`${ns}/${name}`) },
      getPod: async (ns, name) => {
        fake.calls.push(`GET pod ${ns}/${name}`)
        if (fake.failGet === true) throw new Error('connect ECONNREFUSED')
        return fake.api.get(`${ns}/${name}`)
      },
      getNad: async (ns, name) => { fake.calls.push(`GET nad ${ns}/${name}`); return fake.nads.get(`${ns}/${name}`) },
      patchPodAnnotations: async (r) => { fake.patches.push(r); return 'patched' },
    },
  })
  await agent.runCollectorsOnce()
  const app = await buildSocketServer(agent)
  t.teardown(async () => { await app.close(); await agent.close() })
  const plan = async (pod: { namespace?: string, name: string, uid?: string }, smartByDefault = false) => {
    const r = await app.inject({ method: 'POST', url: '/v1/plan', payload: { containerId: 'c1', ifname: 'eth0', pod: { namespace: pod.namespace ?? 'default', name: pod.name, uid: pod.uid ?? `uid-${pod.name}` }, smartByDefault } })
    return { status: r.statusCode, body: r.json() as Record<string, unknown> }
  }
  return { agent, app, plan, dir }
}

const pod = (name: string, annotations: Record<string, string>, uid = `uid-${name}`): PlanPodObject => ({ metadata: { uid, annotations } })
const fresh = (): FakeKube => ({ cache: new Map(), api: new Map(), nads: new Map(), calls: [], patches: [] })

t.test('the pod from the informer; a GET only on a miss or when the informer holds an older pod of that name', async (t) => {
  const fake = fresh()
  fake.cache.set('default/a', pod('a', { cni: 'fast' }))
  fake.api.set('default/b', pod('b', { cni: 'slow' }))
  fake.cache.set('default/web-0', pod('web-0', {}, 'uid-old'))
  fake.api.set('default/web-0', pod('web-0', { cni: 'fast' }))
  const { plan, agent } = await setup(t, fake)

  const a = await plan({ name: 'a' })
  t.equal(a.status, 200)
  t.same(a.body, { pod: { found: true, uid: 'uid-a', annotations: { cni: 'fast' } }, podSource: 'cache', nads: [] }, 'explicit: the pod, nothing to select')
  t.notOk(fake.calls.some((c) => c.startsWith('GET')), 'no GET for a cached pod')

  const b = await plan({ name: 'b' })
  t.match(b.body, { pod: { found: true, uid: 'uid-b' }, podSource: 'api' }, 'a miss: read from the API')
  const w = await plan({ name: 'web-0' })
  t.match(w.body, { pod: { found: true, uid: 'uid-web-0', annotations: { cni: 'fast' } }, podSource: 'api' }, 'the informer had the deleted web-0: the API\'s new one is answered')
  const none = await plan({ name: 'ghost' })
  t.same(none.body, { pod: { found: false }, podSource: 'api', nads: [] }, 'not in the API: found false (the shim uses the node defaults)')
  const metrics = await agent.metrics.registry.metrics()
  t.match(metrics, /netrank_plan_requests_total\{node="plan-node",pod_source="cache",result="ok"\} 1/)
  t.match(metrics, /netrank_plan_requests_total\{node="plan-node",pod_source="api",result="ok"\} 3/)
})

t.test('smart selection is made and audited in the same call; default pods only when the shim has no defaults', async (t) => {
  const fake = fresh()
  fake.cache.set('default/s', pod('s', { cni: '', 'netrank.io/expected-bandwidth': '200M' }))
  fake.cache.set('default/d', pod('d', {}))
  const { plan, agent } = await setup(t, fake)
  const s = await plan({ name: 's' })
  t.match(s.body, { selection: { ok: true, answer: { plugins: ['fast'], reason: 'smart' } } })
  const id = (s.body.selection as { answer: { decisionId: string } }).answer.decisionId
  const rec = agent.audit.records().find((r) => r.decisionId === id)
  t.match(rec, { pod: 's', podUid: 'uid-s', containerId: 'c1', ifname: 'eth0', plugin: 'fast' }, 'in the audit, with the pod\'s identity')
  t.same(rec?.demand, { rxBps: 2e8, txBps: 2e8, source: 'annotation' }, 'the pod\'s expected bandwidth was used')
  t.notOk('selection' in (await plan({ name: 'd' })).body, 'no cni annotation, the shim has defaults: nothing selected')
  t.match((await plan({ name: 'd' }, true)).body, { selection: { ok: true, answer: { plugins: ['fast'] } } }, 'no defaults: smart')
})

t.test('a selection the agent cannot make is answered as its error (the shim falls back), not as a failed plan', async (t) => {
  const fake = fresh()
  fake.cache.set('default/s', pod('s', { cni: '', 'netrank.io/profile': 'no-such-profile' }))
  const { plan } = await setup(t, fake)
  const r = await plan({ name: 's' })
  t.equal(r.status, 200)
  t.match(r.body, { selection: { ok: false, code: 'NR_UNKNOWN_PROFILE', message: /no-such-profile/ } })
})

t.test('NADs: fetched with the plan, a missing one as null; a malformed annotation is left to the shim', async (t) => {
  const fake = fresh()
  fake.cache.set('default/n', pod('n', { 'k8s.v1.cni.cncf.io/networks': 'blue, other/red@net5, gone' }))
  fake.cache.set('default/bad', pod('bad', { 'k8s.v1.cni.cncf.io/networks': 'Not_A_Name' }))
  fake.nads.set('default/blue', { metadata: { name: 'blue' }, spec: { config: '{"cniVersion":"1.0.0","type":"bridge"}' } })
  fake.nads.set('other/red', { metadata: { name: 'red' }, spec: { config: '' } })
  const { plan } = await setup(t, fake)
  const r = await plan({ name: 'n' })
  t.same((r.body.nads as unknown[]).map((n) => { const x = n as { namespace: string, name: string, object: unknown }; return [x.namespace, x.name, x.object === null ? null : 'object'] }),
    [['default', 'blue', 'object'], ['other', 'red', 'object'], ['default', 'gone', null]])
  t.same((r.body.nads as Array<{ object: unknown }>)[0]?.object, fake.nads.get('default/blue'), 'the object as the API has it')
  const bad = await plan({ name: 'bad' })
  t.same(bad.body, { pod: { found: true, uid: 'uid-bad', annotations: { 'k8s.v1.cni.cncf.io/networks': 'Not_A_Name' } }, podSource: 'cache', nads: [] }, 'the pod only: the shim parses it and fails with code 101')
})

t.test('a stale uid: the pod is answered (the shim refuses it), nothing selected', async (t) => {
  const fake = fresh()
  fake.api.set('default/s', pod('s', { cni: '' }, 'uid-new'))
  const { plan, agent } = await setup(t, fake)
  const r = await plan({ name: 's', uid: 'uid-old' })
  t.same(r.body, { pod: { found: true, uid: 'uid-new', annotations: { cni: '' } }, podSource: 'api', nads: [] })
  t.equal(agent.audit.records().length, 0, 'no decision for a sandbox of a deleted pod')
})

t.test('the API unreadable on a miss: 503 NR_KUBERNETES_UNAVAILABLE (the shim takes the direct path); bad bodies 400', async (t) => {
  const fake = fresh()
  fake.failGet = true
  const { plan, app } = await setup(t, fake)
  const r = await plan({ name: 'x' })
  t.equal(r.status, 503)
  t.match(r.body, { error: { code: 'NR_KUBERNETES_UNAVAILABLE', message: /GET pod default\/x: connect ECONNREFUSED/ } })
  for (const payload of [{}, { containerId: 'c', ifname: 'eth0', pod: { namespace: 'default', name: 'x' }, smartByDefault: false }, { containerId: 'c', ifname: 'x'.repeat(16), pod: { namespace: 'd', name: 'x', uid: '' }, smartByDefault: false }]) {
    const res = await app.inject({ method: 'POST', url: '/v1/plan', payload })
    t.equal(res.statusCode, 400, JSON.stringify(payload))
    t.equal((res.json() as { error: { code: string } }).error.code, 'NR_VALIDATION_FAILED')
  }
})

t.test('/v1/pod-status: 202 queued, patched in the background with the uid; bad bodies 400', async (t) => {
  const fake = fresh()
  const { app, agent } = await setup(t, fake)
  const r = await app.inject({ method: 'POST', url: '/v1/pod-status', payload: { namespace: 'default', name: 'p', uid: 'u1', annotations: { 'netrank.io/selection': '{}' } } })
  t.equal(r.statusCode, 202)
  t.same(r.json(), { queued: true })
  await agent.podStatus?.idle()
  t.same(fake.patches, [{ namespace: 'default', name: 'p', uid: 'u1', annotations: { 'netrank.io/selection': '{}' } }])
  t.match(await agent.metrics.registry.metrics(), /netrank_pod_status_patches_total\{node="plan-node",result="patched"\} 1/)
  const bad = await app.inject({ method: 'POST', url: '/v1/pod-status', payload: { namespace: 'default', name: 'p', uid: 'u1', annotations: { a: 5 } } })
  t.equal(bad.statusCode, 400)
})

t.test('no kubernetes configured: the plan routes answer 503 NR_NO_KUBERNETES', async (t) => {
  const dir = await tempDir(t)
  const agent = await createAgent(parseConfig({ node: 'n', plugins: [{ name: 'a' }], audit: { dir: join(dir, 'audit') } }))
  const app = await buildSocketServer(agent)
  t.teardown(async () => { await app.close(); await agent.close() })
  t.equal(agent.planKube, undefined)
  const r = await app.inject({ method: 'POST', url: '/v1/plan', payload: { containerId: 'c', ifname: 'eth0', pod: { namespace: 'd', name: 'x', uid: '' }, smartByDefault: false } })
  t.equal(r.statusCode, 503)
  t.equal((r.json() as { error: { code: string } }).error.code, 'NR_NO_KUBERNETES')
})

t.test('the status queue: transient failures retried, 409 dropped as a conflict, 4xx failed at once, a newer status supersedes', async (t) => {
  const results: Array<[PodStatusResult, string]> = []
  const attempts = new Map<string, number>()
  const q = new PodStatusQueue({
    patch: async (r) => {
      const n = (attempts.get(r.name) ?? 0) + 1
      attempts.set(r.name, n)
      if (r.name === 'flaky' && n < 3) throw new KubeApiError(503, 'HTTP 503')
      if (r.name === 'net' && n < 2) throw new Error('ECONNRESET')
      if (r.name === 'recreated') throw new KubeApiError(409, 'uid precondition')
      if (r.name === 'forbidden') throw new KubeApiError(403, 'forbidden')
      if (r.name === 'down') throw new KubeApiError(500, 'HTTP 500')
      return r.name === 'deleted' ? 'gone' : 'patched'
    },
    statusOf: (err) => err instanceof KubeApiError ? err.status : undefined,
    onResult: (result, r) => results.push([result, r.name]),
    firstBackoffMs: 5,
    attempts: 4,
  })
  for (const name of ['flaky', 'net', 'recreated', 'forbidden', 'down', 'deleted']) t.ok(q.enqueue({ namespace: 'd', name, uid: 'u', annotations: { k: name } }))
  await q.idle()
  t.same(new Map(results.map(([r, n]) => [n, r])), new Map([['flaky', 'patched'], ['net', 'patched'], ['recreated', 'conflict'], ['forbidden', 'failed'], ['down', 'failed'], ['deleted', 'gone']]))
  t.equal(attempts.get('flaky'), 3, '503 twice, then patched')
  t.equal(attempts.get('forbidden'), 1, '403 is not retried')
  t.equal(attempts.get('recreated'), 1, '409 is not retried')
  t.equal(attempts.get('down'), 4, 'a 500 is retried up to the attempts')

  // a newer status for a pod still waiting replaces it, merged
  const seen: PodStatusRequest[] = []
  const full = new PodStatusQueue({ patch: async (r) => { seen.push(r); return 'patched' }, statusOf: () => undefined, onResult: () => {}, concurrency: 1, maxQueued: 2 })
  t.ok(full.enqueue({ namespace: 'd', name: 'first', uid: 'u', annotations: { a: '1' } }), 'starts running')
  t.ok(full.enqueue({ namespace: 'd', name: 'p', uid: 'u', annotations: { a: '1', b: '1' } }))
  t.ok(full.enqueue({ namespace: 'd', name: 'p', uid: 'u', annotations: { a: '2' } }), 'the same pod again: replaces the waiting one')
  t.notOk(full.enqueue({ namespace: 'd', name: 'other', uid: 'u', annotations: {} }), 'full: refused (the shim patches itself)')
  await full.idle()
  t.same(seen.map((r) => [r.name, r.annotations]), [['first', { a: '1' }], ['p', { a: '2', b: '1' }]], 'one patch for p, the newer values over the older')
})

t.test('validatePlanAnswer: the contract shape or undefined', async (t) => {
  const good = { pod: { found: true, uid: 'u', annotations: { cni: '' } }, podSource: 'cache', nads: [{ namespace: 'd', name: 'n', object: null }], selection: { ok: true, answer: { plugins: ['a'], reason: 'smart', decisionId: 'x-1' } } }
  t.same(validatePlanAnswer(good), good)
  t.same(validatePlanAnswer({ pod: { found: false }, podSource: 'api', nads: [] }), { pod: { found: false }, podSource: 'api', nads: [] })
  const bad: unknown[] = [
    null, [], 'x', {},
    { ...good, pod: { found: true, uid: 5, annotations: {} } },
    { ...good, pod: { found: true, uid: 'u', annotations: { a: 1 } } },
    { ...good, podSource: 'disk' },
    { ...good, nads: {} },
    { ...good, nads: [{ namespace: 'd', name: 'n', object: 'str' }] },
    { ...good, selection: { ok: true, answer: { plugins: [], reason: 'smart', decisionId: '' } } },
    { ...good, selection: { ok: true, answer: { plugins: ['../x'], reason: 'smart', decisionId: '' } } },
    { ...good, selection: { ok: false, code: 1 } },
    { ...good, selection: 'yes' },
  ]
  for (const b of bad) t.equal(validatePlanAnswer(b), undefined, JSON.stringify(b))
})

t.test('the socket: 0600 in a 0700 directory; a stale socket is replaced, anything else refused', async (t) => {
  const dir = await tempDir(t)
  const agent = await createAgent(parseConfig({ node: 'n', plugins: [{ name: 'a' }], audit: { dir: join(dir, 'audit') } }))
  t.teardown(() => agent.close())
  const path = join(dir, 'run', 'agent.sock')
  const umask = process.umask()
  const first = await buildSocketServer(agent)
  await listenOnSocket(first, path)
  t.equal(statSync(path).mode & 0o777, 0o600, 'socket 0600')
  t.equal(statSync(join(dir, 'run')).mode & 0o777, 0o700, 'directory 0700')
  t.equal(process.umask(), umask, 'the process umask is restored after binding')
  // an agent killed without closing leaves its socket: a new agent takes the path over
  const second = await buildSocketServer(agent)
  await listenOnSocket(second, path)
  t.teardown(async () => { await second.close() })
  const health = await new Promise<number>((resolve, reject) => {
    const req = request({ socketPath: path, path: '/healthz' }, (res) => { res.resume(); resolve(res.statusCode ?? 0) })
    req.on('error', reject)
    req.end()
  })
  t.equal(health, 200, 'the new agent answers on it')
  await first.close().catch(() => {})
  const file = join(dir, 'plain')
  writeFileSync(file, 'not a socket')
  await t.rejects(listenOnSocket(await buildSocketServer(agent), file), /exists and is not a socket; refusing to replace it/)
  t.ok(lstatSync(file).isFile(), 'the file is untouched')
})

t.test('statuses lost with a killed agent: queued again from the records on start, only for the same pod still lacking them', async (t) => {
  const fake = fresh()
  const sel = (id: string): string => JSON.stringify({ plugins: ['fast'], reason: 'smart', decisionId: id })
  fake.cache.set('default/lost', pod('lost', {}))
  fake.cache.set('default/done', pod('done', { 'netrank.io/selection': sel('d-2') }))
  fake.cache.set('default/again', pod('again', {}, 'uid-of-the-new-again'))
  fake.cache.set('default/planned', pod('planned', {}))
  fake.cache.set('default/direct', pod('direct', {}))
  const { agent, dir } = await setup(t, fake)
  const rec = (name: string, state: AttachmentRecord['state'], status: Record<string, string> | undefined): AttachmentRecord => {
    const now = new Date().toISOString()
    return { format: RECORD_FORMAT, containerId: `c-${name}`, ifname: 'eth0', netns: '', cniVersion: '1.0.0', pod: { namespace: 'default', name, uid: `uid-${name}` }, reason: 'smart', decisionId: 'x', plugins: ['fast'], state, ...(status !== undefined ? { status } : {}), createdAt: now, updatedAt: now, attachments: [] }
  }
  const stateDir = join(dir, 'state')
  writeRecord(stateDir, rec('lost', 'added', { 'netrank.io/selection': sel('d-1'), 'k8s.v1.cni.cncf.io/network-status': '[]' }))
  writeRecord(stateDir, rec('done', 'added', { 'netrank.io/selection': sel('d-2') }))
  writeRecord(stateDir, rec('again', 'added', { 'netrank.io/selection': sel('d-3') }))
  writeRecord(stateDir, rec('planned', 'planned', { 'netrank.io/selection': sel('d-4') }))
  writeRecord(stateDir, rec('direct', 'added', undefined))
  writeRecord(stateDir, rec('gone', 'added', { 'netrank.io/selection': sel('d-5') }))
  t.equal(await agent.recoverPodStatuses(), 1, 'one status to patch again')
  await agent.podStatus?.idle()
  t.same(fake.patches, [{ namespace: 'default', name: 'lost', uid: 'uid-lost', annotations: { 'netrank.io/selection': sel('d-1'), 'k8s.v1.cni.cncf.io/network-status': '[]' } }],
    'only the pod that lacks it: not one already patched, recreated, still being added, patched by the shim itself, or gone')
})
