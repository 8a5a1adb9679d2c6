/**
 * Which collectors an agent runs, from its config. The static collector always runs;
 * cadvisor, probes and ipam are added here by the collectors issue.
 */
import type { Collector } from '../collectors/types.js'
import { createStaticCollector } from '../collectors/static-collector.js'
import type { AgentConfig } from './config.js'

/** A collector that is configured but not built into this version, and why. */
export interface SkippedCollector {
  name: string
  why: string
}

export function buildCollectors (config: AgentConfig): { collectors: Collector[], skipped: SkippedCollector[] } {
  const collectors: Collector[] = [
    createStaticCollector({ kpis: config.collectors.static.kpis, catalog: config.plugins, intervalMs: config.collectors.static.intervalMs }),
  ]
  const skipped: SkippedCollector[] = []
  for (const name of ['cadvisor', 'probes', 'ipam'] as const) {
    if (config.collectors[name].enabled) skipped.push({ name, why: 'not available in this version of the agent yet; its KPIs stay empty' })
  }
  return { collectors, skipped }
}
