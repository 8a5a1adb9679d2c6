#!/usr/bin/env node
/**
 * `node dist/lab/cli-lab-main.js <sub> …` runs `netrank lab <sub> …` directly: the entry
 * `lab up` uses for its background stand-ins process. Exit codes as the CLI: 0, 1 failure, 2 usage.
 */
import { realpathSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import type { CliIo } from '../cli/command.js'
import { main } from '../cli/main.js'
import { labCommand } from './cli-lab.js'

/** Runs `netrank lab` with argv (after `lab`); resolves to the exit code. */
export async function labMain (argv: string[], io?: CliIo): Promise<number> {
  return await main(['lab', ...argv], io, [labCommand])
}

function isMain (): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try { return import.meta.url === pathToFileURL(realpathSync(entry)).href } catch { return false }
}

if (isMain()) process.exitCode = await labMain(process.argv.slice(2))
