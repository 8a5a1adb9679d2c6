#!/usr/bin/env node
// The `netrank` command (services/cli.ts holds the commands).
import { main } from '../services/cli.js'

process.exitCode = await main(process.argv.slice(2))
