/**
 * The `netrank` command line: a table of subcommands (later issues add `collect` and `lab`).
 * Exit codes: 0 success, 1 runtime failure (message on stderr), 2 usage error.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { agentCommand } from './cli-agent.js'
import { collectCommand } from './cli-collect.js'
import { demoCommand } from './cli-demo.js'
import { labCommand } from '../lab/cli-lab.js'
import { openapiCommand } from './cli-openapi.js'
import { rankCommand } from './cli-rank.js'
import { UsageError } from './cli-command.js'
import type { CliIo, CliValues, Command } from './cli-command.js'

export { UsageError } from './cli-command.js'
export type { CliIo, Command } from './cli-command.js'

/** The subcommands, in help order. */
export const COMMANDS: Command[] = [agentCommand, rankCommand, collectCommand, labCommand, demoCommand, openapiCommand]

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const

function version (): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }
    if (pkg.version !== undefined) return pkg.version
  } catch {
    // run from the sources: package.json is one level up instead of two
  }
  try {
    return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown'
  } catch {
    return 'unknown'
  }
}

function topUsage (): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length))
  return [
    'Usage: netrank <command> [options]',
    '',
    'netrank ranks this node\'s CNI networks by measured KPIs and picks one for pods.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `netrank <command> --help` for its options. `netrank --version` prints the version.',
    '',
  ].join('\n')
}

function commandUsage (c: Command): string {
  return `Usage: ${c.usage}\n`
}

/** Runs the CLI with `argv` (without node and the script); resolves to the exit code. */
export async function main (argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) {
    io.stderr.write(topUsage())
    return 2
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topUsage())
    return 0
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`netrank ${version()}\n`)
    return 0
  }
  const command = COMMANDS.find((c) => c.name === name)
  if (command === undefined) {
    io.stderr.write(`netrank: unknown command '${name}' (commands: ${COMMANDS.map((c) => c.name).join(', ')})\n\n${topUsage()}`)
    return 2
  }
  let values: CliValues
  let positionals: string[]
  try {
    const parsed = parseArgs({ args: rest, options: { ...command.options, ...HELP_OPTION }, allowPositionals: true, strict: true })
    values = parsed.values as CliValues
    positionals = parsed.positionals
    if (values.help === true) {
      io.stdout.write(commandUsage(command))
      return 0
    }
    if (positionals.length > (command.positionals ?? 0)) throw new UsageError(`unexpected argument '${positionals[command.positionals ?? 0] ?? ''}'`)
    return await command.run(values, positionals, io)
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      io.stderr.write(`netrank ${command.name}: ${(err as Error).message}\n\n${commandUsage(command)}`)
      return 2
    }
    io.stderr.write(`netrank ${command.name}: ${(err as Error).message}\n`)
    return 1
  }
}
