#!/usr/bin/env node
// Regenerates docs/openapi.json from the route schemas (after `npm run build`):
//   npm run build && node scripts/openapi.mjs
// test/unit/agent-openapi.test.ts fails when the committed copy differs from what the server generates.
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { openapiDocument } = await import(join(root, 'dist', 'agent', 'http', 'openapi.js'))
writeFileSync(join(root, 'docs', 'openapi.json'), await openapiDocument())
process.stderr.write('wrote docs/openapi.json\n')
