/** `netrank policy`: the network policy engine's matrix and rules; `netrank policy flush` removes the rules (uninstall). */
import { DEFAULT_AGENT_URL } from '../contract/node-defaults.js'
import type { PolicyState } from '../agent/policy-engine.js'
import { flushRules, nftRunner, NFT_TABLE } from '../agent/policy-nft.js'
import type { Command } from './command.js'
import { UsageError } from './command.js'
import { agentGet } from './agent-client.js'

/** The matrices as text: one grid per namespace (✓ may talk, · may not), then the networks and policies. */
export function formatPolicy (st: PolicyState): string {
  const out: string[] = [`policy generation ${st.generation}${st.appliedAt === undefined ? '' : `, applied ${st.appliedAt}`}; nftables table ${st.rules.table}: ${st.rules.denied} denied direction(s)`]
  if (st.lastError !== undefined) out.push(`last error: ${st.lastError}`)
  for (const m of st.namespaces) {
    out.push('', `namespace ${m.namespace}`)
    const w = Math.max(4, ...m.networks.map((n) => n.length))
    out.push(`  ${''.padEnd(w)}  ${m.networks.map((n) => n.padEnd(w)).join(' ')}`.trimEnd())
    m.networks.forEach((a, i) => out.push(`  ${a.padEnd(w)}  ${m.networks.map((_, j) => (m.allowed[i]?.[j] === true ? '✓' : '·').padEnd(w)).join(' ')}`.trimEnd()))
    for (const [n, peers] of Object.entries(m.confined)) out.push(`  ${n} is confined to: ${peers.length === 0 ? '(nobody)' : peers.join(', ')}`)
  }
  if (st.networks.length > 0) {
    out.push('', 'logical networks')
    for (const n of st.networks) out.push(`  ${`${n.namespace}/${n.name}`.padEnd(28)} ${(n.subnet ?? '-').padEnd(20)} ${n.valid ? 'valid' : 'INVALID'}  ${n.valid ? (n.plugin ?? '') : n.reason}`)
  }
  if (st.policies.length > 0) {
    out.push('', 'policies (genieNetworkpolicy)')
    for (const p of st.policies) out.push(`  ${`${p.namespace}/${p.name}`.padEnd(28)} ${p.entries.map((e) => `${e.networkSelector} → ${e.peerNetworks.join(',') || '(none)'}`).join('; ') || '(no entries)'}${p.error === undefined ? '' : `  [does not parse: ${p.error}; in force: ${p.inForce}]`}`)
  }
  const drops = Object.entries(st.rules.droppedPackets).filter(([, v]) => v > 0)
  if (drops.length > 0) out.push('', 'dropped packets', ...drops.map(([k, v]) => `  ${k}: ${v}`))
  return out.join('\n') + '\n'
}

export const policyCommand: Command = {
  name: 'policy',
  summary: 'show the network policy engine\'s matrix and rules; `flush` removes the rules from this node',
  usage: `netrank policy [--url URL] [--json]
netrank policy flush [--table T]

  --url URL   the agent (default ${DEFAULT_AGENT_URL})
  --json      print the /v1/policy JSON
  flush       delete the netrank nftables tables (inet and bridge) on this node, as root:
              what uninstalling netrank's policy engine leaves to do (the agent keeps them
              when it stops, so a restart never opens a gap)
  --table T   the table name (default ${NFT_TABLE}, the agent's policy.table)`,
  options: {
    url: { type: 'string', default: DEFAULT_AGENT_URL },
    json: { type: 'boolean', default: false },
    table: { type: 'string', default: NFT_TABLE },
  },
  positionals: 1,
  async run (values, positionals, io) {
    const verb = positionals[0]
    if (verb === 'flush') {
      const table = String(values.table)
      if (!/^[A-Za-z][A-Za-z0-9_-]{0,62}$/.test(table)) throw new UsageError(`--table must be an nftables table name, got '${table}'`)
      await flushRules(nftRunner(), table)
      io.stdout.write(`removed the ${table} tables (inet, bridge)\n`)
      return 0
    }
    if (verb !== undefined) throw new UsageError(`unknown subcommand '${verb}' (known: flush)`)
    const url = String(values.url)
    if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must start with http:// or https://, got '${url}'`)
    const st = await agentGet<PolicyState>(url, '/v1/policy')
    io.stdout.write(values.json === true ? `${JSON.stringify(st, null, 2)}\n` : formatPolicy(st))
    return 0
  },
}
