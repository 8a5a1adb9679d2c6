#!/usr/bin/env node
/**
 * `node dist/lab/cli-lab-main.js <sub> …` runs `netrank lab <sub> …` directly: the entry
 * `lab up` uses for its background stand-ins process, and the tests' way in until `lab`
 * is registered in services/cli.ts. Exit codes as the CLI: 0, 1 failure, 2 usage.
 */
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { CliIo, CliValues } from '../services/cli-command.js'
import { UsageError } from '../services/cli-command.js'
import { labCommand } from './cli-lab.js'

/** Runs `netrank lab` with argv (after `lab`); resolves to the exit code. */
export async function labMain (argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  try {
    const parsed = parseArgs({ args: argv, options: { ...labCommand.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true })
    if (parsed.values.help === true) {
      io.stdout.write(`Usage: ${labCommand.usage}\n`)
      return 0
    }
    if (parsed.positionals.length > (labCommand.positionals ?? 0)) throw new UsageError(`unexpected argument '${parsed.positionals[labCommand.positionals ?? 0] ?? ''}'`)
    return await labCommand.run(parsed.values as CliValues, parsed.positionals, io)
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true) {
      io.stderr.write(`netrank lab: ${(err as Error).message}\n\nUsage: ${labCommand.usage}\n`)
      return 2
    }
    io.stderr.write(`netrank lab: ${(err as Error).message}\n`)
    return 1
  }
}

function isMain (): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try { return import.meta.url === pathToFileURL(realpathSync(entry)).href } catch { return false }
}

if (isMain()) process.exitCode = await labMain(process.argv.slice(2))
