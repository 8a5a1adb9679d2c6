// One way for tests to get an agent config or an agent from an inline config: the
// product's own parseConfig (so tests run the agent's real defaults), the audit in a
// temporary directory that is removed when the test ends.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { KpiName } from '../../contract/kpis.js'
import { createAgent } from '../../agent/agent.js'
import type { Agent, AgentOptions } from '../../agent/agent.js'
import { parseConfig } from '../../agent/config/load-config.js'
import type { AgentConfig, ParseOptions } from '../../agent/config/load-config.js'

/** A config from `raw` (plugins default to one named `default`); parse errors throw as they would for a file. */
export function configFrom (raw: Record<string, unknown> = {}, opts: ParseOptions = {}): AgentConfig {
  return parseConfig({ plugins: [{ name: 'default' }], ...raw }, opts)
}

/** The agent's default per-KPI staleness, ms, as a config without `staleAfterMs` gets it. */
export function defaultStaleAfterMs (): Readonly<Record<KpiName, number>> {
  return configFrom().selector.staleAfterMs
}

/**
 * An agent built (not listening) from an inline config, its audit in a fresh temp dir
 * unless the config names one; closed and the dir removed at the end of `t`.
 */
export async function agentFromConfig (t: Test, raw: Record<string, unknown>, opts: AgentOptions & ParseOptions = {}): Promise<Agent> {
  const dir = mkdtempSync(join(tmpdir(), 'nr-agent-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = configFrom({ audit: { dir: join(dir, 'audit') }, ...raw }, { baseDir: opts.baseDir ?? dir, ...(opts.env !== undefined ? { env: opts.env } : {}) })
  const agent = await createAgent(config, opts)
  t.teardown(() => agent.close())
  return agent
}
