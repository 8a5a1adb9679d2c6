/** `netrank explain pod NS/NAME`: why the pod got its networks (GET /v1/explain). */
import { DEFAULT_AGENT_URL } from '../contract/node-defaults.js'
import type { PodExplanation } from '../agent/explain.js'
import type { Command } from './command.js'
import { UsageError } from './command.js'
import { agentGet } from './agent-client.js'

export function formatExplanation (e: PodExplanation): string {
  const out: string[] = [`pod ${e.namespace}/${e.pod} on node ${e.node}`]
  if (e.attachments.length === 0) out.push('', 'no attachment record on this node (deleted, or networked elsewhere)')
  for (const a of e.attachments) {
    out.push('', `sandbox ${a.containerId.slice(0, 12)} (${a.state}, ${a.createdAt}): reason ${a.reason}${a.decisionId === '' ? '' : `, decision ${a.decisionId}`}`)
    for (const i of a.interfaces) out.push(`  ${i.ifname.padEnd(6)} ${i.network.padEnd(20)} ${i.ips.join(', ') || '-'}${i.nad === undefined ? '' : `  (NAD ${i.nad})`}`)
  }
  for (const d of e.decisions) {
    out.push('', `decision ${d.decisionId} at ${d.at}: ${d.plugin} (${d.reason}, profile ${d.profile}${d.demand === undefined ? '' : `, demand rx ${(d.demand.rxBps / 1e6).toFixed(0)} / tx ${(d.demand.txBps / 1e6).toFixed(0)} Mbit/s from ${d.demand.source}`})`)
    out.push(`  scores then: ${Object.entries(d.scores).sort((a, b) => b[1] - a[1]).map(([p, s]) => `${p} ${s.toFixed(3)}`).join(', ')}`)
    for (const b of d.because ?? []) out.push(`  because: ${b}`)
  }
  out.push('', `now, under profile ${e.now.profile}:`)
  for (const p of e.now.plugins) out.push(`  ${String(p.rank).padStart(2)}. ${p.plugin.padEnd(20)} ${p.score.toFixed(3)}${p.eligible ? '' : '  ineligible'}${p.reasons.length === 0 ? '' : `  ${p.reasons.join('; ')}`}`)
  return out.join('\n') + '\n'
}

export const explainCommand: Command = {
  name: 'explain',
  summary: 'why a pod got its networks: its attachments, the decisions for it and the ranking now',
  usage: `netrank explain pod NAMESPACE/NAME [--url URL] [--json]

  --url URL   the agent of the pod's node (default ${DEFAULT_AGENT_URL})
  --json      print the /v1/explain JSON`,
  options: {
    url: { type: 'string', default: DEFAULT_AGENT_URL },
    json: { type: 'boolean', default: false },
  },
  positionals: 2,
  async run (values, positionals, io) {
    const [what, ref] = positionals
    if (what !== 'pod') throw new UsageError(what === undefined ? 'explain what? `netrank explain pod NAMESPACE/NAME`' : `unknown subject '${what}' (known: pod)`)
    const m = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(ref ?? '')
    if (m === null) throw new UsageError(`the pod must be NAMESPACE/NAME, got '${ref ?? ''}'`)
    const url = String(values.url)
    if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must start with http:// or https://, got '${url}'`)
    const q = new URLSearchParams({ namespace: m[1] ?? '', pod: m[3] ?? '' })
    const e = await agentGet<PodExplanation>(url, `/v1/explain?${q.toString()}`)
    io.stdout.write(values.json === true ? `${JSON.stringify(e, null, 2)}\n` : formatExplanation(e))
    return 0
  },
}
