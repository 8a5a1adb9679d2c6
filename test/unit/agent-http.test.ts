import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { createAgent } from '../../agent/agent.js'
import type { Agent, AgentOptions } from '../../agent/agent.js'
import { parseConfig } from '../../agent/config/load-config.js'
import { buildServer } from '../../agent/http/server.js'

type Kpis = Array<{ plugin: string, kpi: string, value: number }>

// Two networks with the same KPIs (a tie) and a third that is clearly worse.
const TIE: Kpis = [
  ...['net-a', 'net-b'].flatMap((plugin) => [
    { plugin, kpi: 'capacityBps', value: 9e9 },
    { plugin, kpi: 'rxBps', value: 1e8 },
    { plugin, kpi: 'txBps', value: 1e8 },
    { plugin, kpi: 'latencySeconds', value: 0.00005 },
    { plugin, kpi: 'ipUsed', value: 10 },
    { plugin, kpi: 'ipCapacity', value: 254 },
  ]),
  { plugin: 'net-c', kpi: 'capacityBps', value: 1e9 },
  { plugin: 'net-c', kpi: 'rxBps', value: 5e8 },
  { plugin: 'net-c', kpi: 'txBps', value: 4e8 },
  { plugin: 'net-c', kpi: 'latencySeconds', value: 0.0005 },
  { plugin: 'net-c', kpi: 'ipUsed', value: 200 },
  { plugin: 'net-c', kpi: 'ipCapacity', value: 254 },
]

const FULL: Kpis = ['net-a', 'net-b', 'net-c'].flatMap((plugin) => [
  { plugin, kpi: 'ipUsed', value: 254 },
  { plugin, kpi: 'ipCapacity', value: 254 },
])

const TOKEN = 'a-long-enough-select-token'

async function setup (t: Test, over: { kpis?: Kpis, raw?: Record<string, unknown>, dir?: string, opts?: AgentOptions, run?: boolean } = {}) {
  let dir = over.dir
  if (dir === undefined) {
    const d = await mkdtemp(join(tmpdir(), 'nr-agent-'))
    t.teardown(() => rm(d, { recursive: true, force: true }))
    dir = d
  }
  const config = parseConfig({
    node: 'n1',
    plugins: [{ name: 'net-a' }, { name: 'net-b' }, { name: 'net-c' }],
    collectors: { static: { kpis: over.kpis ?? TIE } },
    selector: { profiles: { gold: { latencySeconds: 1 } } },
    audit: { dir },
    ...over.raw,
  })
  const agent = await createAgent(config, over.opts)
  if (over.run ?? true) await agent.runCollectorsOnce()
  const app = await buildServer({ agent })
  t.teardown(async () => {
    await app.close()
    await agent.close()
  })
  return { agent, app, dir }
}

const select = (app: Awaited<ReturnType<typeof buildServer>>, body: object, extra: Record<string, unknown> = {}) =>
  app.inject({ method: 'POST', url: '/v1/select', payload: body, ...extra })

const pod = (i: number) => ({ namespace: 'ns', pod: `pod-${i}`, containerId: `c-${i}` })

t.test('GET /rank answers the ranking under the default profile with KPIs, criteria, band, coverage, prediction and reasons', async t => {
  const { app } = await setup(t)
  const res = await app.inject('/rank')
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.equal(body.node, 'n1')
  t.equal(body.profile, 'balanced')
  t.ok(!Number.isNaN(Date.parse(body.generatedAt)), 'generatedAt is an ISO time')
  t.same(body.plugins.map((p: { rank: number }) => p.rank), [1, 2, 3])
  const c = body.plugins.find((p: { plugin: string }) => p.plugin === 'net-c')
  t.equal(c.rank, 3, 'the worse network ranks last')
  t.equal(c.kpis.capacityBps.value, 1e9)
  t.equal(c.kpis.capacityBps.samples, 1)
  t.type(c.kpis.capacityBps.ageSeconds, 'number')
  t.equal(c.kpis.usageBps.value, 5e8, 'derived KPIs are shown: usage is the busier direction')
  t.ok(Object.keys(c.criteria).length > 0)
  for (const x of Object.values(c.criteria) as Array<{ score: number, weight: number, band: number }>) t.ok(x.weight > 0 && x.band >= 0 && x.score <= 1, 'each criterion says its score, weight and band')
  t.ok(c.band >= 0 && c.coverage > 0 && c.coverage <= 1, `band ${c.band}, coverage ${c.coverage}`)
  t.same(body.demand, { rxBps: 10e6, txBps: 10e6, source: 'profile' }, 'ranked for the profile\'s default demand')
  t.type(c.predicted.rxUtilisation, 'number')
  t.ok(Array.isArray(c.reasons))
  t.equal(typeof c.eligible, 'boolean')
})

t.test('GET /v1/rank?profile= ranks under that profile, operator profiles included', async t => {
  const { app } = await setup(t)
  for (const profile of ['throughput', 'latency', 'ip-conservative', 'cost', 'gold']) {
    const res = await app.inject(`/v1/rank?profile=${profile}`)
    t.equal(res.statusCode, 200, profile)
    t.equal(res.json().profile, profile)
  }
})

t.test('an unknown profile is a 400 that names the valid ones', async t => {
  const { app } = await setup(t)
  for (const res of [await app.inject('/v1/rank?profile=fastest'), await select(app, { ...pod(1), profile: 'fastest' })]) {
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: { code: 'NR_UNKNOWN_PROFILE', message: "unknown profile 'fastest'; valid profiles: balanced, throughput, latency, ip-conservative, cost, gold" } })
  }
})

t.test('POST /v1/select answers the chosen plugin, smart, and a decision id, audited before the answer', async t => {
  const { app, dir } = await setup(t)
  const res = await select(app, { ...pod(1), podUid: 'uid-1', ifname: 'eth0' })
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['decisionId', 'plugins', 'profile', 'reason'])
  t.equal(body.reason, 'smart')
  t.equal(body.decisionId, 'n1-1')
  t.equal(body.plugins.length, 1)
  t.not(body.plugins[0], 'net-c')
  // the line is on disk when the answer is out
  const line = JSON.parse(readFileSync(join(dir, 'audit-0001.jsonl'), 'utf8').trim())
  t.match(line, { seq: 1, decisionId: 'n1-1', namespace: 'ns', pod: 'pod-1', podUid: 'uid-1', containerId: 'c-1', ifname: 'eth0', profile: 'balanced', plugin: body.plugins[0], reason: 'smart' })
  t.same(Object.keys(line.scores).sort(), ['net-a', 'net-b', 'net-c'])
  const second = await select(app, pod(2))
  t.equal(second.json().decisionId, 'n1-2', 'decision ids follow the sequence')
})

t.test('bad /v1/select bodies get a 4xx {error:{code,message}} naming the field', async t => {
  const { app, dir } = await setup(t)
  const json = { 'content-type': 'application/json' }
  const cases: Array<[string, Record<string, unknown>, number, string, RegExp]> = [
    ['missing containerId', { payload: { namespace: 'ns', pod: 'p' } }, 400, 'NR_VALIDATION_FAILED', /^body\/containerId: is required$/],
    ['missing namespace and pod', { payload: { containerId: 'c' } }, 400, 'NR_VALIDATION_FAILED', /body\/namespace: is required; body\/pod: is required/],
    ['pod a number', { payload: { namespace: 'ns', pod: 42, containerId: 'c' } }, 400, 'NR_VALIDATION_FAILED', /^body\/pod: must be a string$/],
    ['profile a list', { payload: { ...pod(1), profile: ['a'] } }, 400, 'NR_VALIDATION_FAILED', /^body\/profile: must be a string$/],
    ['empty namespace', { payload: { ...pod(1), namespace: '' } }, 400, 'NR_VALIDATION_FAILED', /^body\/namespace: must not be empty$/],
    ['ifname too long', { payload: { ...pod(1), ifname: 'x'.repeat(16) } }, 400, 'NR_VALIDATION_FAILED', /^body\/ifname: must be at most 15 characters$/],
    ['a JSON array body', { payload: '[]', headers: json }, 400, 'NR_VALIDATION_FAILED', /^body: must be an object$/],
    ['broken JSON', { payload: '{"namespace": ', headers: json }, 400, 'NR_BAD_REQUEST', /JSON/i],
    ['oversized body', { payload: JSON.stringify({ ...pod(1), pad: 'x'.repeat(20_000) }), headers: json }, 413, 'NR_BODY_TOO_LARGE', /larger than the limit of 16384 bytes/],
    ['not JSON', { payload: 'namespace=ns', headers: { 'content-type': 'application/x-www-form-urlencoded' } }, 415, 'NR_UNSUPPORTED_MEDIA_TYPE', /must be application\/json/],
  ]
  for (const [name, req, status, code, message] of cases) {
    const res = await app.inject({ method: 'POST', url: '/v1/select', ...req })
    t.equal(res.statusCode, status, `${name}: status`)
    const body = res.json()
    t.same(Object.keys(body), ['error'], `${name}: only the error key`)
    t.equal(body.error.code, code, `${name}: code`)
    t.match(body.error.message, message, `${name}: message`)
  }
  t.equal(readFileSync(join(dir, 'audit-0001.jsonl'), 'utf8'), '', 'no bad request made a decision')
})

t.test('/v1/select answers loopback callers; others get 403 unless they present the configured token', async t => {
  const open = await setup(t)
  const loopback = ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1']
  const remote = ['10.0.0.1', '192.168.1.2', '::ffff:10.0.0.1', '2001:db8::1', '128.0.0.1']
  for (const remoteAddress of loopback) t.equal((await select(open.app, pod(1), { remoteAddress })).statusCode, 200, `${remoteAddress} is loopback`)
  for (const remoteAddress of remote) {
    const res = await select(open.app, pod(1), { remoteAddress })
    t.equal(res.statusCode, 403, `${remoteAddress} is not loopback`)
    t.equal(res.json().error.code, 'NR_FORBIDDEN')
    t.match(res.json().error.message, /loopback callers only .*set auth\.selectToken/)
  }

  const guarded = await setup(t, { raw: { auth: { selectToken: TOKEN } } })
  const from = { remoteAddress: '10.0.0.1' }
  const cases: Array<[string, Record<string, string>, number]> = [
    ['no header', {}, 403],
    ['wrong token', { authorization: 'Bearer not-the-token-at-all-xx' }, 403],
    ['token without Bearer', { authorization: TOKEN }, 403],
    ['the token', { authorization: `Bearer ${TOKEN}` }, 200],
    ['the token, lower-case scheme', { authorization: `bearer ${TOKEN}` }, 200],
  ]
  for (const [name, headers, status] of cases) {
    const res = await select(guarded.app, pod(2), { ...from, headers })
    t.equal(res.statusCode, status, name)
    if (status === 403) t.match(res.json().error.message, /Authorization: Bearer/)
  }
  t.equal((await select(guarded.app, pod(3), { remoteAddress: '127.0.0.1' })).statusCode, 200, 'loopback needs no token')
  t.equal((await guarded.app.inject({ url: '/rank', remoteAddress: '10.0.0.1' })).statusCode, 200, 'read-only routes are open')
})

t.test('a burst of 100 selections over two equally good networks puts at most 60% on one', async t => {
  const { app } = await setup(t)
  const counts: Record<string, number> = {}
  for (let i = 0; i < 100; i++) {
    const plugin = (await select(app, pod(i))).json().plugins[0] as string
    counts[plugin] = (counts[plugin] ?? 0) + 1
  }
  t.equal(counts['net-c'] ?? 0, 0, 'the worse network gets none')
  t.ok((counts['net-a'] ?? 0) <= 60 && (counts['net-b'] ?? 0) <= 60, JSON.stringify(counts))
})

t.test('when no plugin is eligible /v1/select is a 503 NR_NO_ELIGIBLE_PLUGIN with the reasons, and nothing is audited', async t => {
  const { app, agent } = await setup(t, { kpis: FULL })
  const res = await select(app, pod(1))
  t.equal(res.statusCode, 503)
  t.equal(res.json().error.code, 'NR_NO_ELIGIBLE_PLUGIN')
  t.match(res.json().error.message, /net-a: .*net-b: .*net-c: /)
  t.equal(agent.audit.records().length, 0)
})

t.test('GET /v1/decisions pages oldest first with a next cursor; bad query values are 400s naming the field', async t => {
  const { app } = await setup(t)
  for (let i = 1; i <= 5; i++) await select(app, pod(i))
  const p1 = (await app.inject('/v1/decisions?limit=2')).json()
  t.same(p1.decisions.map((d: { pod: string }) => d.pod), ['pod-1', 'pod-2'])
  t.equal(p1.next, 2)
  t.equal(p1.more, true)
  const p3 = (await app.inject('/v1/decisions?since=4&limit=2')).json()
  t.same(p3.decisions.map((d: { seq: number }) => d.seq), [5])
  t.equal(p3.more, false)
  t.equal(p3.next, 5)
  const all = (await app.inject('/v1/decisions')).json()
  t.equal(all.decisions.length, 5, 'default limit covers them')
  for (const [q, field] of [['limit=0', 'limit'], ['limit=5000', 'limit'], ['since=-1', 'since'], ['since=abc', 'since']] as const) {
    const res = await app.inject(`/v1/decisions?${q}`)
    t.equal(res.statusCode, 400, q)
    t.equal(res.json().error.code, 'NR_VALIDATION_FAILED')
    t.match(res.json().error.message, new RegExp(`^query/${field}: `), q)
  }
})

t.test('GET /v1/report aggregates the decisions of the window: share per plugin, count per reason and profile', async t => {
  let now = Date.parse('2026-03-01T12:00:00Z')
  const { app } = await setup(t, { opts: { now: () => now } })
  for (let i = 1; i <= 4; i++) await select(app, pod(i))
  now += 30 * 60_000 // 30 min later
  await select(app, { ...pod(5), profile: 'gold' })
  const recent = (await app.inject('/v1/report?window=15m')).json()
  t.equal(recent.total, 1, 'only the last decision is within 15 min')
  t.same(recent.profiles, { gold: 1 })
  const hour = (await app.inject('/v1/report?window=1h')).json()
  t.equal(hour.total, 5)
  t.same(hour.reasons, { smart: 5 })
  t.same(hour.profiles, { balanced: 4, gold: 1 })
  t.same(hour.plugins.map((p: { plugin: string }) => p.plugin), ['net-a', 'net-b', 'net-c'], 'every catalog plugin, in catalog order')
  t.equal(hour.plugins.reduce((a: number, p: { share: number }) => a + p.share, 0), 1)
  t.equal(hour.plugins.reduce((a: number, p: { count: number }) => a + p.count, 0), 5)
  t.equal((await app.inject('/v1/report')).json().window, '1h', 'the window defaults to 1h')
  for (const w of ['0m', '10x', '1w', '31d', '']) {
    const res = await app.inject(`/v1/report?window=${w}`)
    t.equal(res.statusCode, 400, `window=${w}`)
    t.equal(res.json().error.code, 'NR_BAD_WINDOW')
  }
})

t.test('GET /v1/kpis shows every reading with age, staleness and source', async t => {
  const { app } = await setup(t)
  const body = (await app.inject('/v1/kpis')).json()
  t.equal(body.node, 'n1')
  t.match(body.plugins['net-a'].capacityBps, { value: 9e9, samples: 1, stale: false, source: 'static' })
  t.equal(body.plugins['net-a'].headroomBps.value, 9e9 - 1e8, 'capacity − the busier direction')
  t.equal(body.rejectedTotal, 0)
})

t.test('/healthz is up at once; /readyz waits until every collector ran once', async t => {
  const { app, agent } = await setup(t, { run: false })
  t.equal((await app.inject('/healthz')).statusCode, 200)
  const before = await app.inject('/readyz')
  t.equal(before.statusCode, 503)
  t.same(before.json(), { error: { code: 'NR_NOT_READY', message: 'not ready: collector static has not run yet' } })
  await agent.runCollectorsOnce()
  const after = await app.inject('/readyz')
  t.equal(after.statusCode, 200)
  t.same(after.json(), { status: 'ready' })
})

t.test('a collector that throws is counted and never stops the agent', async t => {
  const boom = { name: 'boom', collectOnce: async () => { throw new Error('source down') }, start: () => { throw new Error('cannot start') }, stop: async () => undefined }
  const { app, agent } = await setup(t, { opts: { collectors: [boom] } })
  agent.startCollectors()
  t.equal((await app.inject('/readyz')).statusCode, 200, 'it ran (and failed): the agent is ready')
  t.equal((await app.inject('/rank')).statusCode, 200)
  const metrics = (await app.inject('/metrics')).body
  t.match(metrics, /^netrank_collector_errors_total\{collector="boom"\} 2$/m, 'the cycle error and the start error')
})

t.test('unknown routes get the error shape too', async t => {
  const { app } = await setup(t)
  const res = await app.inject('/v2/rank')
  t.equal(res.statusCode, 404)
  t.same(res.json(), { error: { code: 'NR_NOT_FOUND', message: 'no route GET /v2/rank' } })
})

t.test('a decision that cannot be audited is not answered as a success', async t => {
  const { app, agent } = await setup(t)
  await agent.audit.close()
  const res = await select(app, pod(1))
  t.equal(res.statusCode, 500)
  t.equal(res.json().error.code, 'NR_AUDIT_WRITE_FAILED')
})

t.test('a restarted agent on the same audit dir keeps the decisions, counters and sequence; a torn line is skipped', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'nr-agent-restart-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const first = await setup(t, { dir })
  const chosen: string[] = []
  for (let i = 1; i <= 3; i++) chosen.push((await select(first.app, pod(i))).json().plugins[0])
  await first.app.close()
  await first.agent.close()
  await appendFile(join(dir, 'audit-0001.jsonl'), '{"seq":4,"decisionId":"n1-4","at":"20') // crash mid-write

  const second = await setup(t, { dir })
  const decisions = (await second.app.inject('/v1/decisions')).json().decisions
  t.same(decisions.map((d: { plugin: string }) => d.plugin), chosen, 'the answered decisions survived')
  const metrics = (await second.app.inject('/metrics')).body
  for (const plugin of new Set(chosen)) {
    const n = chosen.filter((c) => c === plugin).length
    t.match(metrics, new RegExp(`^netrank_selections_total\\{node="n1",plugin="${plugin}",reason="smart",profile="balanced"\\} ${n}$`, 'm'), `${plugin} counter restored`)
  }
  t.match(metrics, /^netrank_audit_skipped_lines_total 1$/m, 'the torn line is counted')
  t.equal((await select(second.app, pod(9))).json().decisionId, 'n1-4', 'the sequence continues')
  const lines = (await readFile(join(dir, 'audit-0001.jsonl'), 'utf8')).trim().split('\n')
  t.equal(lines.length, 4)
  t.doesNotThrow(() => lines.map((l) => JSON.parse(l)), 'every line is whole')
})

t.test('the agent built from a config has one registry of its own per agent', async t => {
  const a = await setup(t)
  const b = await setup(t)
  await select(a.app, pod(1))
  // every (plugin, reason) series exists from the start at 0; a's decision makes one of a's 1
  t.match((await a.app.inject('/metrics')).body, /^netrank_selections_total\{[^}]*reason="smart",profile="[^"]+"\} 1$/m)
  t.notMatch((await b.app.inject('/metrics')).body, /^netrank_selections_total\{[^}]*\} [1-9]/m, 'b did not see a\'s decision')
  t.not((a.agent as Agent).metrics.registry, b.agent.metrics.registry)
})

t.test('the /rank answer is reused while no samples arrive within 0.25 s, and recomputed after', async t => {
  let now = Date.parse('2026-03-01T12:00:00Z')
  const { app, agent } = await setup(t, { opts: { now: () => now } })
  const first = (await app.inject('/rank')).json()
  now += 100
  t.equal((await app.inject('/rank')).json().generatedAt, first.generatedAt, 'same view 0.1 s later')
  await agent.runCollectorsOnce() // new samples
  const fresh = (await app.inject('/rank')).json()
  t.not(fresh.generatedAt, first.generatedAt, 'new samples make a new answer')
  now += 1000
  t.not((await app.inject('/rank')).json().generatedAt, fresh.generatedAt, 'and so does time')
  t.equal((await app.inject('/v1/rank?profile=latency')).json().profile, 'latency', 'each profile has its own answer')
})

t.test('GET /v1/rank?expectedBandwidth= ranks for that pod: the prediction moves with the demand; a bad value is a 400 naming it', async t => {
  const { app } = await setup(t)
  const small = (await app.inject('/v1/rank?expectedBandwidth=10M')).json()
  const big = (await app.inject(`/v1/rank?expectedBandwidth=${encodeURIComponent('{"rx":"400M","tx":"1M"}')}`)).json()
  t.same(small.demand, { rxBps: 10e6, txBps: 10e6, source: 'query' })
  t.same(big.demand, { rxBps: 400e6, txBps: 1e6, source: 'query' })
  const rxOf = (b: { plugins: Array<{ plugin: string, predicted: { rxUtilisation: number } }> }, n: string): number => b.plugins.find(p => p.plugin === n)?.predicted.rxUtilisation ?? NaN
  // net-c: 500 Mbit/s rx measured on 1 Gbit/s; + 10M → 51 %, + 400M → 90 %
  t.ok(Math.abs(rxOf(small, 'net-c') - 0.51) < 1e-9, `net-c rx after a 10M pod: ${rxOf(small, 'net-c')}`)
  t.ok(Math.abs(rxOf(big, 'net-c') - 0.9) < 1e-9, `net-c rx after a 400M pod: ${rxOf(big, 'net-c')}`)
  for (const bad of ['fast', '-5M', '99999T', '{"rx":"1G"']) {
    const res = await app.inject(`/v1/rank?expectedBandwidth=${encodeURIComponent(bad)}`)
    t.equal(res.statusCode, 400, `'${bad}' is refused`)
    t.equal(res.json().error.code, 'NR_BAD_EXPECTED_BANDWIDTH')
    t.match(res.json().error.message, /^expectedBandwidth ".*": /, 'the message names the value')
  }
  const empty = await app.inject('/v1/rank?expectedBandwidth=')
  t.same([empty.statusCode, empty.json().error.message], [400, 'query/expectedBandwidth: must not be empty'])
})

t.test('POST /v1/select: a pod\'s expected bandwidth is its demand; an invalid one never fails the pod, the decision says why', async t => {
  const { app } = await setup(t)
  const ok = await select(app, { ...pod(1), expectedBandwidth: '200M' })
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().reason, 'smart')
  for (const [i, bad] of [[2, 'fast'], [3, '-5M'], [4, '99999T']] as const) {
    const res = await select(app, { ...pod(i), expectedBandwidth: bad })
    t.equal(res.statusCode, 200, `'${bad}': still a placement`)
    t.equal(res.json().reason, 'smart')
    t.equal(res.json().plugins.length, 1)
  }
  const decisions = (await app.inject('/v1/decisions')).json().decisions as Array<{ pod: string, demand: { rxBps: number, txBps: number, source: string }, because: string[] }>
  const of = (p: string) => decisions.find(d => d.pod === p)
  t.same(of('pod-1')?.demand, { rxBps: 200e6, txBps: 200e6, source: 'annotation' })
  for (const [p, bad] of [['pod-2', 'fast'], ['pod-3', '-5M'], ['pod-4', '99999T']] as const) {
    t.same(of(p)?.demand, { rxBps: 10e6, txBps: 10e6, source: 'profile' }, `${p}: the profile's default demand`)
    t.match(of(p)?.because[0], new RegExp(`^netrank\\.io/expected-bandwidth "${bad}" ignored: .+; the profile's default demand \\(rx 10 Mbit/s, tx 10 Mbit/s\\) is used$`), `${p}: the reason comes first`)
  }
  const long = await select(app, { ...pod(5), expectedBandwidth: 'x'.repeat(257) })
  t.equal(long.statusCode, 400, 'longer than any rate: refused by the request schema')
})

t.test('POST /v1/select?dryRun=true chooses as now and remembers nothing: no audit line, no placement, no sequence step', async t => {
  const { app, agent } = await setup(t)
  const before = agent.state.recent(agent.now()).length
  const dry = await app.inject({ method: 'POST', url: '/v1/select?dryRun=true', payload: pod(1) })
  t.equal(dry.statusCode, 200)
  t.match(dry.json(), { decisionId: 'n1-dry-run', reason: 'smart' })
  t.equal(agent.audit.records().length, 0, 'nothing audited')
  t.equal(agent.state.recent(agent.now()).length, before, 'no phantom load added')
  const real = await select(app, pod(2))
  t.equal(real.json().decisionId, 'n1-1', 'the first real decision is still seq 1')
  t.equal((await app.inject({ method: 'POST', url: '/v1/select?dryRun=maybe', payload: pod(3) })).statusCode, 400, 'a dryRun that is not a boolean is a 400')
})

t.test('GET /v1/explain: the pod\'s decisions newest first with the ranking now; 404 for a pod the agent never saw; 400 for a bad name', async t => {
  const { app } = await setup(t)
  await select(app, { ...pod(1), expectedBandwidth: '50M' })
  await select(app, pod(1))
  const res = await app.inject('/v1/explain?namespace=ns&pod=pod-1')
  t.equal(res.statusCode, 200)
  const e = res.json()
  t.equal(e.decisions.length, 2)
  t.same(e.decisions.map((d: { decisionId: string }) => d.decisionId), ['n1-2', 'n1-1'], 'newest first')
  t.match(e.decisions[1], { demand: { rxBps: 50e6, txBps: 50e6, source: 'annotation' } })
  t.same(e.attachments, [], 'no shim record on this test node')
  t.equal(e.now.profile, 'balanced')
  t.same(e.now.plugins.map((p: { plugin: string }) => p.plugin).sort(), ['net-a', 'net-b', 'net-c'])
  const none = await app.inject('/v1/explain?namespace=ns&pod=ghost')
  t.equal(none.statusCode, 404)
  t.equal(none.json().error.code, 'NR_POD_UNKNOWN')
  t.equal((await app.inject('/v1/explain?namespace=NS&pod=x')).statusCode, 400)
  t.equal((await app.inject('/v1/explain?pod=x')).statusCode, 400, 'namespace required')
})
