import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { createAgent } from '../../agent/agent.js'
import type { AgentOptions } from '../../agent/agent.js'
import { parseConfig } from '../../agent/config/load-config.js'
import { REJECT_KINDS } from '../../store/kpi-store.js'
import { buildServer } from '../../agent/http/server.js'
import type { Collector } from '../../collectors/types.js'

// docs/contract.md#metrics, with each family's type
const FAMILIES: Array<[string, 'gauge' | 'counter' | 'histogram']> = [
  ['netrank_plugin_receive_bytes_per_second', 'gauge'],
  ['netrank_plugin_transmit_bytes_per_second', 'gauge'],
  ['netrank_probe_throughput_bytes_per_second', 'gauge'],
  ['netrank_probe_rtt_seconds', 'histogram'],
  ['netrank_probe_runs_total', 'counter'],
  ['netrank_ipam_allocated_ips', 'gauge'],
  ['netrank_ipam_capacity_ips', 'gauge'],
  ['netrank_ipam_subnets', 'gauge'],
  ['netrank_ipam_free_ips', 'gauge'],
  ['netrank_ipam_range_free_ips', 'gauge'],
  ['netrank_selector_score', 'gauge'],
  ['netrank_selections_total', 'counter'],
  ['netrank_select_duration_seconds', 'histogram'],
  ['netrank_kpi_age_seconds', 'gauge'],
  ['netrank_collector_last_success_timestamp_seconds', 'gauge'],
  ['netrank_collector_errors_total', 'counter'],
  ['netrank_cni_add_duration_seconds', 'histogram'],
  ['netrank_kpi_rejected_total', 'counter'],
]

const NOW = Date.parse('2026-05-01T10:00:00Z')

async function setup (t: Test, opts: AgentOptions = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'nr-metrics-'))
  const config = parseConfig({
    node: 'n1',
    plugins: [{ name: 'net-a', costPerGiB: 0.5 }, { name: 'net-b' }],
    collectors: {
      static: {
        kpis: [
          { plugin: 'net-a', kpi: 'rxBps', value: 8e9 }, // 8 Gbit/s = 1e9 bytes/s
          { plugin: 'net-a', kpi: 'txBps', value: 4e9 },
          { plugin: 'net-a', kpi: 'capacityBps', value: 1.6e10 },
          { plugin: 'net-a', kpi: 'ipUsed', value: 20 },
          { plugin: 'net-a', kpi: 'ipCapacity', value: 250 },
          { plugin: 'net-b', kpi: 'latencySeconds', value: 0.001 },
        ],
      },
    },
    selector: { profiles: { gold: { latencySeconds: 1 } } },
    audit: { dir },
  })
  const agent = await createAgent(config, { now: () => NOW, ...opts })
  await agent.runCollectorsOnce()
  const app = await buildServer({ agent })
  t.teardown(async () => {
    await app.close()
    await agent.close()
    await rm(dir, { recursive: true, force: true })
  })
  return { app, agent }
}

const value = (text: string, series: string): number | undefined => {
  const esc = series.replace(/[{}"=,.+]/g, (c) => `\\${c}`)
  const m = new RegExp(`^${esc} (\\S+)$`, 'm').exec(text)
  return m === null ? undefined : Number(m[1])
}

t.test('/metrics serves every family of docs/contract.md#metrics with its type, in the Prometheus text format', async t => {
  const { app } = await setup(t)
  const res = await app.inject('/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  for (const [name, type] of FAMILIES) t.match(res.body, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), name)
})

t.test('metric names follow the base-unit rules: _total only on counters, no bits anywhere', async t => {
  const { app } = await setup(t)
  const body = (await app.inject('/metrics')).body
  for (const m of body.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [, name = '', type] = m
    t.equal(name.endsWith('_total'), type === 'counter', `${name} (${type})`)
    t.notMatch(name, /bits|_ms$|milli|mbit/i, `${name} is in base units`)
    t.ok(name.startsWith('netrank_'), `${name} has the netrank_ prefix`)
  }
})

t.test('traffic gauges are bytes per second: the bits/s KPIs divided by 8', async t => {
  const { app } = await setup(t)
  const body = (await app.inject('/metrics')).body
  t.equal(value(body, 'netrank_plugin_receive_bytes_per_second{node="n1",plugin="net-a"}'), 1e9)
  t.equal(value(body, 'netrank_plugin_transmit_bytes_per_second{node="n1",plugin="net-a"}'), 5e8)
  t.equal(value(body, 'netrank_probe_throughput_bytes_per_second{node="n1",plugin="net-a"}'), 2e9)
  t.equal(value(body, 'netrank_ipam_allocated_ips{node="n1",plugin="net-a"}'), 20)
  t.equal(value(body, 'netrank_ipam_capacity_ips{node="n1",plugin="net-a"}'), 250)
  t.equal(value(body, 'netrank_plugin_receive_bytes_per_second{node="n1",plugin="net-b"}'), undefined, 'no series for a KPI nobody measured')
})

t.test('the selector score is exported for every plugin under every built-in and operator profile', async t => {
  const { app, agent } = await setup(t)
  const body = (await app.inject('/metrics')).body
  for (const profile of agent.profiles()) {
    for (const plugin of ['net-a', 'net-b']) {
      const v = value(body, `netrank_selector_score{node="n1",plugin="${plugin}",profile="${profile}"}`)
      t.ok(v !== undefined && v >= -1 && v <= 1, `${plugin}/${profile} = ${v} (−1 … 1)`)
    }
  }
  t.equal(value(body, 'netrank_selector_score{node="n1",plugin="net-a",profile="balanced"}'), agent.rank('balanced').plugins.find((p) => p.plugin === 'net-a')?.score)
})

t.test('KPI age is in seconds and the collector timestamp in seconds since the epoch', async t => {
  const { app } = await setup(t)
  const body = (await app.inject('/metrics')).body
  t.equal(value(body, 'netrank_kpi_age_seconds{node="n1",plugin="net-a",kpi="rxBps"}'), 0)
  t.equal(value(body, 'netrank_kpi_age_seconds{node="n1",plugin="net-a",kpi="costPerGiB"}'), 0, 'plugins[].costPerGiB is a static KPI too')
  t.equal(value(body, 'netrank_collector_last_success_timestamp_seconds{collector="static"}'), NOW / 1000)
})

t.test('rejected KPI samples are counted by reason and never ranked', async t => {
  const bad: Collector = {
    name: 'bad',
    async collectOnce (ctx) {
      const at = ctx.now()
      const rejected = ctx.emit([
        { plugin: 'net-b', kpi: 'rxBps', value: NaN, atMs: at, source: 'bad' },
        { plugin: 'net-b', kpi: 'txBps', value: -5, atMs: at, source: 'bad' },
        { plugin: 'net-b', kpi: 'capacityBps', value: 1e18, atMs: at, source: 'bad' },
        { plugin: 'net-b', kpi: 'ipCapacity', value: 100, atMs: at, source: 'bad' },
      ])
      if (rejected > 0) ctx.reportError('bad', new Error(`${rejected} rejected`))
    },
    start () {},
    async stop () {},
  }
  const { app, agent } = await setup(t, { collectors: [bad] })
  const body = (await app.inject('/metrics')).body
  let total = 0
  for (const reason of REJECT_KINDS) {
    const v = value(body, `netrank_kpi_rejected_total{reason="${reason}"}`)
    t.ok(v !== undefined, `${reason} is exported from the start`)
    total += v ?? 0
  }
  t.equal(total, 3, 'three of the four samples were rejected')
  t.equal(value(body, 'netrank_collector_errors_total{collector="bad"}'), 1)
  const b = agent.rank('balanced').plugins.find((p) => p.plugin === 'net-b')
  t.equal(b?.kpis.rxBps, undefined, 'the NaN never reached the ranking')
  t.equal(b?.kpis.ipCapacity?.value, 100, 'the good sample did')
  t.equal((await app.inject('/v1/kpis')).json().rejectedTotal, 3)
})

t.test('answered selections are counted and timed', async t => {
  const { app } = await setup(t)
  for (let i = 0; i < 3; i++) await app.inject({ method: 'POST', url: '/v1/select', payload: { namespace: 'ns', pod: `p${i}`, containerId: `c${i}` } })
  const body = (await app.inject('/metrics')).body
  const counted = [...body.matchAll(/^netrank_selections_total\{node="n1",plugin="[^"]+",reason="smart",profile="balanced"\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0)
  t.equal(counted, 3)
  t.equal(value(body, 'netrank_select_duration_seconds_count'), 3)
})

t.test('counters exist at 0 before their first increment, so rate() sees a first selection or fallback', async t => {
  const { app } = await setup(t)
  const body = (await app.inject('/metrics')).body
  for (const plugin of ['net-a', 'net-b']) {
    for (const reason of ['smart', 'explore', 'no-fresh-kpi']) {
      for (const profile of ['balanced', 'throughput', 'latency', 'gold']) {
        t.equal(value(body, `netrank_selections_total{node="n1",plugin="${plugin}",reason="${reason}",profile="${profile}"}`), 0, `${plugin} ${reason} ${profile}`)
      }
    }
    // the shim's fallbacks apply no profile
    for (const reason of ['fallback-agent-down', 'fallback-agent-timeout', 'fallback-agent-error', 'fallback-agent-garbage']) {
      t.equal(value(body, `netrank_selections_total{node="n1",plugin="${plugin}",reason="${reason}",profile="none"}`), 0, `${plugin} ${reason}`)
    }
  }
  t.equal(value(body, 'netrank_collector_errors_total{collector="static"}'), 0)
  t.notMatch(body, /netrank_probe_runs_total\{/, 'no probe series while the probes collector does not run')
  await app.inject({ method: 'POST', url: '/v1/select', payload: { namespace: 'ns', pod: 'p', containerId: 'c' } })
  const after = (await app.inject('/metrics')).body
  const counted = ['net-a', 'net-b'].map((p) => value(after, `netrank_selections_total{node="n1",plugin="${p}",reason="smart",profile="balanced"}`) ?? 0)
  t.equal(counted[0]! + counted[1]!, 1, 'the first selection moves one series from 0 to 1')
})
