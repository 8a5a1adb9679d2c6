/** `netrank rank`: the agent's ranking as a table or JSON. */
import { parseExpectedBandwidth } from '../contract/bandwidth.js'
import { DEFAULT_AGENT_URL } from '../contract/node-defaults.js'
import type { Command } from './command.js'
import { UsageError } from './command.js'
import { agentGet } from './agent-client.js'
import { formatRankTable } from './rank-table.js'
import type { RankAnswer } from './rank-table.js'

export const rankCommand: Command = {
  name: 'rank',
  summary: 'print the agent\'s ranking (table or --json)',
  usage: `netrank rank [--url URL] [--profile P] [--expected-bandwidth B] [--json]

  --url URL       the agent (default ${DEFAULT_AGENT_URL})
  --profile P     balanced, throughput, latency, ip-conservative, cost or an operator profile
                  (default: the agent's defaultProfile)
  --expected-bandwidth B
                  rank for a pod of this demand: 200M, 1G or {"rx":"1G","tx":"100M"}
                  (default: the profile's expectedBandwidth)
  --json          print the /v1/rank JSON instead of the table`,
  options: {
    url: { type: 'string', default: DEFAULT_AGENT_URL },
    profile: { type: 'string', short: 'p' },
    'expected-bandwidth': { type: 'string', short: 'b' },
    json: { type: 'boolean', default: false },
  },
  async run (values, _positionals, io) {
    const url = String(values.url)
    if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must start with http:// or https://, got '${url}'`)
    const profile = values.profile
    if (profile === '') throw new UsageError('--profile must not be empty')
    const bw = values['expected-bandwidth']
    if (typeof bw === 'string') {
      const parsed = parseExpectedBandwidth(bw)
      if (!parsed.ok) throw new UsageError(`--expected-bandwidth ${JSON.stringify(bw)}: ${parsed.why}`)
    }
    const query = new URLSearchParams()
    if (typeof profile === 'string') query.set('profile', profile)
    if (typeof bw === 'string') query.set('expectedBandwidth', bw)
    const path = query.size > 0 ? `/v1/rank?${query.toString()}` : '/v1/rank'
    const answer = await agentGet<RankAnswer>(url, path)
    io.stdout.write(values.json === true ? `${JSON.stringify(answer, null, 2)}\n` : formatRankTable(answer))
    return 0
  },
}
