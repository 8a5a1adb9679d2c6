/** `netrank agent --config FILE`: runs the agent until SIGTERM/SIGINT. */
import { startAgent } from '../agent/start-agent.js'
import type { Command } from './command.js'
import { UsageError } from './command.js'
import { loadConfig } from '../agent/config/load-config.js'

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export const agentCommand: Command = {
  name: 'agent',
  summary: 'run the agent: collectors, ranking, /v1/select, /metrics (until SIGTERM)',
  usage: `netrank agent --config FILE [--log-level LEVEL]

  --config FILE       agent config, YAML or JSON (see examples/agent.example.yaml)
  --log-level LEVEL   ${LOG_LEVELS.join(', ')} (default info); logs are JSON lines on stdout
  NETRANK_SELECT_TOKEN  bearer token for non-loopback /v1/select callers (or auth.selectToken)

An invalid config exits with status 1 and lists every problem.`,
  options: {
    config: { type: 'string', short: 'c' },
    'log-level': { type: 'string' },
  },
  async run (values, _positionals, io) {
    const file = values.config
    if (typeof file !== 'string') throw new UsageError('--config FILE is required')
    const level = values['log-level'] ?? 'info'
    if (typeof level !== 'string' || !LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`)
    const config = await loadConfig(file, io.env)
    const running = await startAgent(config, { logger: { level } })
    io.stderr.write(`netrank agent: node ${config.node}, listening on ${running.url} (SIGTERM or Ctrl-C stops it)\n`)
    await running.closed
    return 0
  },
}
