/** `netrank rank`: the agent's ranking as a table or JSON. */
import { DEFAULT_AGENT_URL } from '../contract/node-defaults.js'
import type { Command } from './command.js'
import { UsageError } from './command.js'
import { agentGet } from './agent-client.js'
import { formatRankTable } from './rank-table.js'
import type { RankAnswer } from './rank-table.js'

export const rankCommand: Command = {
  name: 'rank',
  summary: 'print the agent\'s ranking (table or --json)',
  usage: `netrank rank [--url URL] [--profile P] [--json]

  --url URL       the agent (default ${DEFAULT_AGENT_URL})
  --profile P     balanced, throughput, latency, ip-conservative, cost or an operator profile
                  (default: the agent's defaultProfile)
  --json          print the /v1/rank JSON instead of the table`,
  options: {
    url: { type: 'string', default: DEFAULT_AGENT_URL },
    profile: { type: 'string', short: 'p' },
    json: { type: 'boolean', default: false },
  },
  async run (values, _positionals, io) {
    const url = String(values.url)
    if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must start with http:// or https://, got '${url}'`)
    const profile = values.profile
    if (profile === '') throw new UsageError('--profile must not be empty')
    const path = typeof profile === 'string' ? `/v1/rank?profile=${encodeURIComponent(profile)}` : '/v1/rank'
    const answer = await agentGet<RankAnswer>(url, path)
    io.stdout.write(values.json === true ? `${JSON.stringify(answer, null, 2)}\n` : formatRankTable(answer))
    return 0
  },
}
