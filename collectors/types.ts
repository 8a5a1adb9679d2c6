/**
 * What every collector implements. The agent starts each configured collector,
 * hands it a sink for samples and a health reporter, and stops it on shutdown.
 * A collector never throws out of its loop: it reports errors and keeps its last
 * values in the store until they go stale.
 */
import type { KpiSample } from '../contract/kpis.js'

export interface CollectorContext {
  /** node name (labels, attribution) */
  node: string
  /** hand samples to the KPI store; returns how many were rejected (NaN, negative, absurd) */
  emit: (samples: KpiSample[]) => number
  /** a collection cycle finished successfully */
  reportSuccess: (collector: string, atMs: number) => void
  /** a collection cycle (or part of it) failed */
  reportError: (collector: string, err: unknown) => void
  /** ms since the epoch; injectable for tests */
  now: () => number
}

export interface Collector {
  /** 'static', 'cadvisor', 'probes', 'ipam' */
  readonly name: string
  /** run one collection cycle (the diagnostics CLI calls this with --once) */
  collectOnce: (ctx: CollectorContext) => Promise<void>
  /** start periodic collection */
  start: (ctx: CollectorContext) => void
  /** stop timers and child processes; resolves when stopped */
  stop: () => Promise<void>
}
