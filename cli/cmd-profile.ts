/**
 * `netrank profile ask`: CNI-Genie's "questionnaire filled out by the user to find the
 * use-case-optimized CNI plugin". A few questions about a workload (or flags, for
 * scripts), then which of this node's networks would win for it and why (the agent's
 * /v1/rank for the nearest profile and the declared demand), then the pod annotations or
 * an operator profile to use.
 */
import { createInterface } from 'node:readline'
import { stringify as toYaml } from 'yaml'
import { DEFAULT_AGENT_URL } from '../contract/node-defaults.js'
import { isCniName } from '../contract/names.js'
import type { Command, CliIo, CliValues } from './command.js'
import { UsageError } from './command.js'
import { agentGet } from './agent-client.js'
import { advise, annotationsFor } from './profile-advice.js'
import type { Advice, Answers } from './profile-advice.js'
import type { RankAnswer } from './rank-table.js'

const MAX_TRIES = 3

type YesNo = 'latencySensitive' | 'bursty' | 'costSensitive' | 'manyAddresses'
const QUESTIONS: ReadonlyArray<{ key: YesNo | 'bandwidth', flag: string, text: string }> = [
  { key: 'latencySensitive', flag: 'latency-sensitive', text: 'Is the workload latency-sensitive (RPC, databases, interactive)? [y/N] ' },
  { key: 'bandwidth', flag: 'bandwidth', text: 'How much traffic does one pod move? (200M, 1G, {"rx":"1G","tx":"100M"}; empty: not known) ' },
  { key: 'bursty', flag: 'bursty', text: 'Is its traffic bursty rather than steady? [y/N] ' },
  { key: 'costSensitive', flag: 'cost-sensitive', text: 'Is the cost per GiB carried a concern? [y/N] ' },
  { key: 'manyAddresses', flag: 'many-addresses', text: 'Will it run many replicas per node (needs many addresses)? [y/N] ' },
]

function yesNo (s: string): boolean | undefined {
  const a = s.trim().toLowerCase()
  if (a === '' || a === 'n' || a === 'no') return false
  if (a === 'y' || a === 'yes') return true
  return undefined
}

/** Lines from stdin, one per question; a stream that ends answers nothing more. */
function lineReader (input: NodeJS.ReadableStream): { next: () => Promise<string | undefined>, close: () => void } {
  const rl = createInterface({ input, terminal: false })
  const it = rl[Symbol.asyncIterator]()
  return {
    next: async () => { const r = await it.next(); return r.done === true ? undefined : r.value },
    close: () => { rl.close() },
  }
}

async function interview (values: CliValues, io: CliIo): Promise<Answers> {
  const answers: Answers = {
    latencySensitive: values['latency-sensitive'] === true,
    bursty: values.bursty === true,
    costSensitive: values['cost-sensitive'] === true,
    manyAddresses: values['many-addresses'] === true,
    ...(typeof values.bandwidth === 'string' ? { bandwidth: values.bandwidth } : {}),
  }
  if (answers.bandwidth !== undefined) {
    try { advise(answers) } catch (err) { throw new UsageError(`--bandwidth ${JSON.stringify(answers.bandwidth)}: ${(err as Error).message}`) }
  }
  if (values.yes === true) return answers
  const pending = QUESTIONS.filter(q => values[q.flag] === undefined)
  if (pending.length === 0) return answers
  const lines = lineReader(io.stdin ?? process.stdin)
  try {
    for (const [i, q] of pending.entries()) {
      for (let tries = 1; ; tries++) {
        io.stdout.write(q.text)
        const line = await lines.next()
        if (line === undefined) throw new UsageError(`stdin ended before question ${i + 1} was answered; for scripts, pass --yes with the flags`)
        if (q.key === 'bandwidth') {
          if (line.trim() === '') break
          try {
            advise({ ...answers, bandwidth: line })
            answers.bandwidth = line.trim()
            break
          } catch (err) {
            io.stdout.write(`  ${(err as Error).message}\n`)
            if (tries >= MAX_TRIES) throw new UsageError(`no rate after ${MAX_TRIES} tries: ${(err as Error).message}`)
          }
        } else {
          const v = yesNo(line)
          if (v !== undefined) { answers[q.key] = v; break }
          io.stdout.write('  please answer y or n\n')
          if (tries >= MAX_TRIES) throw new UsageError(`no y/n answer after ${MAX_TRIES} tries to: ${q.text.trim()}`)
        }
      }
    }
  } finally {
    lines.close()
  }
  return answers
}

const pct = (x: number | undefined): string => (x === undefined ? '-' : `${(x * 100).toFixed(1)}%`)

function rankingLines (r: RankAnswer): string[] {
  return r.plugins.slice(0, 3).map((p) => {
    const head = p.eligible
      ? `  ${p.rank}. ${p.plugin}: score ${p.score.toFixed(3)} ± ${p.band.toFixed(3)}, coverage ${pct(p.coverage)}, after this pod rx ${pct(p.predicted.rxUtilisation)} / tx ${pct(p.predicted.txUtilisation)}`
      : `  ${p.rank}. ${p.plugin}: ineligible`
    const why = p.reasons.filter((x) => !x.startsWith('score ')).slice(0, 2)
    return [head, ...why.map((x) => `       ${x}`)].join('\n')
  })
}

function profileYaml (name: string, advice: Advice): string {
  const profile: Record<string, unknown> = { weights: advice.weights }
  if (advice.expectedBandwidth !== undefined) profile.expectedBandwidth = advice.expectedBandwidth
  return toYaml({ selector: { profiles: { [name]: profile } } })
}

export const profileCommand: Command = {
  name: 'profile',
  summary: 'ask about a workload, show which networks would win for it, print its annotations or profile',
  usage: `netrank profile ask [--url URL] [--latency-sensitive] [--bandwidth B] [--bursty] [--cost-sensitive]
                    [--many-addresses] [--yes] [--output annotations|profile] [--name N] [--json]

  Asks a few questions about a workload in the terminal (flags answer them; --yes asks
  nothing else), then shows the top networks of this node for it from the agent's ranking,
  and prints the pod annotations (default) or an operator profile for the agent config.

  --url URL            the agent (default ${DEFAULT_AGENT_URL})
  --latency-sensitive  the workload is latency-sensitive
  --bandwidth B        one pod's traffic: 200M, 1G or {"rx":"1G","tx":"100M"} (bits/s)
  --bursty             its traffic is bursty
  --cost-sensitive     the cost per GiB carried matters
  --many-addresses     many replicas per node: pool room matters
  --yes                no questions: the flags and defaults (no) are the answers
  --output O           annotations (the built-in profile) or profile (an operator profile
                       named --name, default "workload", and the annotations that use it)
  --json               one JSON object: answers, builtin, weights, expectedBandwidth, ranking, annotations

  When the agent cannot be reached the advice is still printed, with a warning on stderr
  (exit 0: the advice does not depend on the ranking).`,
  positionals: 1,
  options: {
    url: { type: 'string', default: DEFAULT_AGENT_URL },
    'latency-sensitive': { type: 'boolean' },
    bandwidth: { type: 'string', short: 'b' },
    bursty: { type: 'boolean' },
    'cost-sensitive': { type: 'boolean' },
    'many-addresses': { type: 'boolean' },
    yes: { type: 'boolean', short: 'y', default: false },
    output: { type: 'string', short: 'o', default: 'annotations' },
    name: { type: 'string', default: 'workload' },
    json: { type: 'boolean', default: false },
  },
  async run (values, positionals, io) {
    if (positionals[0] !== 'ask') throw new UsageError(positionals[0] === undefined ? 'what to do? `netrank profile ask`' : `unknown subcommand '${positionals[0]}' (known: ask)`)
    const url = String(values.url)
    if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must start with http:// or https://, got '${url}'`)
    const output = String(values.output)
    if (output !== 'annotations' && output !== 'profile') throw new UsageError(`--output must be annotations or profile, got '${output}'`)
    const name = String(values.name)
    if (!isCniName(name) || name.length > 63) throw new UsageError(`--name '${name}' is not a profile name (letters, digits, _ . -; a letter or digit first)`)

    const answers = await interview(values, io)
    const advice = advise(answers)
    const query = new URLSearchParams({ profile: advice.builtin })
    if (advice.expectedBandwidth !== undefined) query.set('expectedBandwidth', advice.expectedBandwidth)
    let ranking: RankAnswer | undefined
    let rankingError: string | undefined
    try {
      ranking = await agentGet<RankAnswer>(url, `/v1/rank?${query.toString()}`)
    } catch (err) {
      rankingError = (err as Error).message
      io.stderr.write(`netrank profile: no ranking from the agent (${rankingError}); the advice below does not depend on it\n`)
    }
    const annotations = annotationsFor(advice, output === 'profile' ? name : advice.builtin)
    if (values.json === true) {
      io.stdout.write(`${JSON.stringify({ answers, builtin: advice.builtin, why: advice.why, weights: advice.weights, expectedBandwidth: advice.expectedBandwidth ?? null, ranking: ranking ?? null, ...(rankingError !== undefined ? { rankingError } : {}), annotations }, null, 2)}\n`)
      return 0
    }
    const out: string[] = ['', `Nearest built-in profile: ${advice.builtin} — ${advice.why}`]
    out.push(advice.expectedBandwidth !== undefined ? `Expected bandwidth per pod: ${advice.expectedBandwidth}` : 'Expected bandwidth per pod: not known (the profile\'s default demand applies)')
    if (ranking !== undefined) {
      out.push('', `On node ${ranking.node}, for this workload (profile ${ranking.profile}${advice.expectedBandwidth !== undefined ? `, ${advice.expectedBandwidth} per pod` : ''}):`, ...rankingLines(ranking))
      for (const n of ranking.notes ?? []) out.push(`  note: ${n}`)
    }
    if (output === 'profile') {
      out.push('', 'An operator profile for exactly these answers (the ranking above is the nearest built-in\'s;', 'add this to the agent config and restart the agent to rank with it):', '', profileYaml(name, advice).trimEnd())
    }
    out.push('', 'Pod annotations:', ...Object.entries(annotations).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`), '')
    io.stdout.write(`${out.join('\n')}\n`)
    return 0
  },
}
