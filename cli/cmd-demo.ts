/**
 * `netrank demo` (what `npm start` runs until the lab exists): the agent on the example
 * config with a temporary audit dir, the ranking under two profiles, a few selections and
 * why they went where they went. The KPIs are static example values, and it says so.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startAgent } from '../agent/start-agent.js'
import { agentGet, agentPost } from './agent-client.js'
import type { DecisionRecord } from '../contract/decision-record.js'
import type { Command } from './command.js'
import { UsageError } from './command.js'
import { loadConfig } from '../agent/config/load-config.js'
import { exampleConfigPath } from './package-root.js'
import { formatRankTable } from './rank-table.js'
import type { RankAnswer } from './rank-table.js'

const PROFILES = ['balanced', 'ip-conservative'] // two profiles whose leaders differ on the example values
const PODS = ['web-1', 'web-2', 'web-3', 'web-4', 'web-5', 'web-6']

export const demoCommand: Command = {
  name: 'demo',
  summary: 'start the agent on the example config (static example KPIs), show rankings and selections',
  usage: `netrank demo [--config FILE] [--port N] [--once]

  --config FILE   default: examples/agent.example.yaml (three networks with static example KPIs)
  --port N        listen port (default: the config's; 0 picks a free one)
  --once          print and exit instead of serving until Ctrl-C

The audit goes to a temporary directory that is removed on exit.`,
  options: {
    config: { type: 'string', short: 'c' },
    port: { type: 'string' },
    once: { type: 'boolean', default: false },
  },
  async run (values, _positionals, io) {
    const file = typeof values.config === 'string' ? values.config : exampleConfigPath()
    let port: number | undefined
    if (typeof values.port === 'string') {
      port = Number(values.port)
      if (!/^\d+$/.test(values.port) || port > 65535) throw new UsageError(`--port must be an integer 0–65535, got '${values.port}'`)
    }
    const config = await loadConfig(file, io.env)
    const auditDir = await mkdtemp(join(tmpdir(), 'netrank-demo-'))
    config.audit.dir = auditDir
    if (port !== undefined) config.listen.port = port
    const out = (s: string): void => { io.stdout.write(s) }
    let running: Awaited<ReturnType<typeof startAgent>> | undefined
    try {
      running = await startAgent(config, { logger: false, handleSignals: false })
      await running.agent.runCollectorsOnce()
      const url = running.url
      out(`netrank demo — agent for node '${config.node}' on ${url}\n`)
      out(`NOTE: the KPIs are STATIC EXAMPLE VALUES from ${file} (collectors.static), not measurements;\n`)
      out('      for measured KPIs (cAdvisor traffic, iperf3 probes, IP pools) on real networks, run `netrank lab demo` as root.\n\n')

      for (const profile of PROFILES) {
        out(formatRankTable(await agentGet<RankAnswer>(url, `/v1/rank?profile=${profile}`)))
        out('\n')
      }

      out(`Selections (POST /v1/select, as the CNI shim makes them for pods with an empty cni annotation):\n`)
      const asks = [
        ...PODS.map((pod) => ({ pod, profile: 'balanced' })),
        { pod: 'db-1', profile: 'ip-conservative' },
        { pod: 'db-2', profile: 'ip-conservative' },
      ]
      const ids: string[] = []
      for (const a of asks) {
        const r = await agentPost<{ plugins: string[], decisionId: string }>(url, '/v1/select', {
          namespace: 'demo', pod: a.pod, containerId: `demo-${a.pod}`, profile: a.profile,
        })
        ids.push(r.decisionId)
      }
      const { decisions } = await agentGet<{ decisions: DecisionRecord[] }>(url, '/v1/decisions?limit=1000')
      for (const d of decisions.filter((x) => ids.includes(x.decisionId))) {
        out(`  demo/${d.pod.padEnd(6)} profile ${d.profile.padEnd(15)} → ${d.plugin.padEnd(14)} score ${(d.scores[d.plugin] ?? 0).toFixed(3)}\n`)
        for (const line of d.because ?? []) out(`      ${line}\n`)
      }
      const report = await agentGet<{ total: number, plugins: Array<{ plugin: string, count: number, share: number }> }>(url, '/v1/report?window=1h')
      out(`\nShare of the ${report.total} decisions: ${report.plugins.map((p) => `${p.plugin} ${Math.round(p.share * 100)}%`).join(', ')}\n`)
      out(`Each decision is in the audit (${auditDir}, temporary: removed on exit) and in netrank_selections_total on ${url}/metrics.\n`)

      if (values.once === true) return 0
      out(`\nServing on ${url} — try: curl ${url}/rank · netrank rank --url ${url} · curl ${url}/metrics\nCtrl-C stops it.\n`)
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
      })
      return 0
    } finally {
      await running?.close()
      await rm(auditDir, { recursive: true, force: true })
    }
  },
}
