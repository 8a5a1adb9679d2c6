#!/usr/bin/env node
// The `netrank` command: the product's commands (cli/), plus `netrank lab` when the lab is
// part of this build. The agent image ships the product build only, so there `lab` is
// simply not a command (docs/architecture.md: the two builds).
import { existsSync } from 'node:fs'
import { CORE_COMMANDS, main } from '../cli/main.js'
import type { Command } from '../cli/main.js'

async function labCommands (): Promise<Command[]> {
  // built: dist/lab/cli-lab.js; from the sources (tests): lab/cli-lab.ts. The specifier is
  // computed, not a literal, so the product's tsc does not follow it into lab/.
  const built = new URL('../lab/cli-lab.js', import.meta.url)
  const source = new URL('../lab/cli-lab.ts', import.meta.url)
  const found = [built, source].find((u) => existsSync(u))
  if (found === undefined) return []
  const { labCommand } = await import(found.href) as { labCommand: Command }
  return [labCommand]
}

// help order: the core commands, the lab before the static-values demo
const lab = await labCommands()
const commands = CORE_COMMANDS.flatMap((c) => (c.name === 'demo' ? [...lab, c] : [c]))
process.exitCode = await main(process.argv.slice(2), undefined, commands)
