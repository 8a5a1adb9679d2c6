/**
 * The `netrank` command line: a table of subcommands. The product's commands are here;
 * bin/netrank.ts adds the lab's when the lab is part of the build (docs/architecture.md).
 * Exit codes: 0 success, 1 runtime failure (message on stderr), 2 usage error.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { agentCommand } from './cmd-agent.js'
import { collectCommand } from './cmd-collect.js'
import { demoCommand } from './cmd-demo.js'
import { openapiCommand } from './cmd-openapi.js'
import { profileCommand } from './cmd-profile.js'
import { rankCommand } from './cmd-rank.js'
import { policyCommand } from './cmd-policy.js'
import { explainCommand } from './cmd-explain.js'
import { UsageError } from './command.js'
import type { CliIo, CliValues, Command } from './command.js'

export { UsageError } from './command.js'
export type { CliIo, Command } from './command.js'

/** The product's subcommands, in help order. */
export const CORE_COMMANDS: readonly Command[] = Object.freeze([agentCommand, rankCommand, explainCommand, policyCommand, profileCommand, collectCommand, demoCommand, openapiCommand])

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

function topUsage (commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length))
  return [
    'Usage: netrank <command> [options]',
    '',
    'netrank ranks this node\'s CNI networks by measured KPIs and picks one for pods.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run `netrank <command> --help` for its options. `netrank --version` prints the version.',
    '',
  ].join('\n')
}

function commandUsage (c: Command): string {
  return `Usage: ${c.usage}\n`
}

const STDIO: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }

/** Runs the CLI with `argv` (without node and the script) over `commands`; resolves to the exit code. */
export async function main (argv: string[], io: CliIo = STDIO, commands: readonly Command[] = CORE_COMMANDS): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined) {
    io.stderr.write(topUsage(commands))
    return 2
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(topUsage(commands))
    return 0
  }
  if (name === '--version' || name === '-v') {
    io.stdout.write(`netrank ${version()}\n`)
    return 0
  }
  const command = commands.find((c) => c.name === name)
  if (command === undefined) {
    io.stderr.write(`netrank: unknown command '${name}' (commands: ${commands.map((c) => c.name).join(', ')})\n\n${topUsage(commands)}`)
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
