/** The shape of a `netrank` subcommand, shared by cli.ts and each command module. */
import type { ParseArgsConfig } from 'node:util'

/** Where a command writes; tests pass buffers. */
export interface CliIo {
  stdout: { write: (s: string) => unknown }
  stderr: { write: (s: string) => unknown }
  env: NodeJS.ProcessEnv
  /** answers to questions (`netrank profile ask`); process.stdin when absent */
  stdin?: NodeJS.ReadableStream
}

export type CliOptions = NonNullable<ParseArgsConfig['options']>
export type CliValues = Record<string, string | boolean | undefined>

/** One subcommand. `run` returns the exit code; throw UsageError for bad arguments. */
export interface Command {
  name: string
  summary: string
  /** the usage text shown by --help (after `Usage: `) */
  usage: string
  options: CliOptions
  /** positional arguments allowed (default 0) */
  positionals?: number
  run: (values: CliValues, positionals: string[], io: CliIo) => Promise<number>
}

/** A command-line mistake: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'UsageError'
  }
}

