/**
 * The agent: KPI store, collectors, selection state, decision audit and metrics wired
 * together. `createAgent` builds it without listening (tests, bench); `startAgent` also
 * starts the collectors, listens, and shuts down gracefully on SIGTERM/SIGINT.
 */
import type { FastifyInstance } from 'fastify'
import { rank } from '../selector/index.js'
import type { KpiSample, KpiSnapshot, Ranking, SelectorOptions } from '../selector/types.js'
import type { Collector, CollectorContext } from '../collectors/types.js'
import { AuditLog } from './audit-log.js'
import { buildCollectors } from './collectors.js'
import { DEFAULTS } from './config-defaults.js'
import { profileNames, profileWeights } from './config.js'
import type { AgentConfig } from './config.js'
import { AgentError } from './errors.js'
import { checkSample, KpiStore } from './kpi-store.js'
import { createMetrics } from './metrics.js'
import type { AgentMetrics, ScrapeView } from './metrics.js'
import { SelectionState } from './selection-state.js'
import { buildServer } from './server.js'

/** The pino-style logger the agent writes to (fastify's `app.log` fits). */
export interface AgentLogger {
  info: (obj: object, msg: string) => void
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

export interface AgentOptions {
  /** ms since the epoch; tests inject a clock */
  now?: () => number
  /** replaces the collectors built from config (tests) */
  collectors?: Collector[]
}

/** One agent's parts. */
export interface Agent {
  readonly config: AgentConfig
  readonly store: KpiStore
  readonly audit: AuditLog
  readonly metrics: AgentMetrics
  readonly state: SelectionState
  readonly collectors: readonly Collector[]
  readonly selectorOptions: SelectorOptions
  now: () => number
  /** the KPI snapshot now, reused for up to DEFAULTS.http.kpiViewReuseMs unless new samples arrived */
  snapshot: () => KpiSnapshot
  /** changes whenever the reused snapshot would: new samples, or the reuse period ended */
  viewKey: () => string
  /** built-in then operator profile names */
  profiles: () => string[]
  /** ranking under a profile right now; AgentError UNKNOWN_PROFILE when it is not known */
  rank: (profile: string) => Ranking
  /** ready once every collector ran once and the audit is open; `waiting` says on what */
  readiness: () => { ready: boolean, waiting: string[] }
  /** one cycle of every collector (they report their own errors) */
  runCollectorsOnce: () => Promise<void>
  startCollectors: () => void
  /** routes agent logs to a real logger (buffered until then) */
  attachLogger: (log: AgentLogger) => void
  log: AgentLogger
  /** stops collectors and closes the audit; idempotent */
  close: () => Promise<void>
}

// Logs written before fastify's logger exists (audit read-back) wait here.
function bufferedLogger (): AgentLogger & { drainTo: (l: AgentLogger) => void } {
  const pending: Array<[keyof AgentLogger, object, string]> = []
  let target: AgentLogger | undefined
  const at = (level: keyof AgentLogger) => (obj: object, msg: string): void => {
    if (target !== undefined) target[level](obj, msg)
    else pending.push([level, obj, msg])
  }
  return {
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    drainTo (l) {
      target = l
      for (const [level, obj, msg] of pending.splice(0)) l[level](obj, msg)
    },
  }
}

/** Builds an agent from a validated config: opens (and reads back) the audit, builds store and collectors. */
export async function createAgent (config: AgentConfig, opts: AgentOptions = {}): Promise<Agent> {
  const now = opts.now ?? Date.now
  const log = bufferedLogger()
  const store = new KpiStore({
    windowMs: config.selector.windowMs,
    maxSamplesPerSeries: config.selector.maxSamplesPerSeries,
    staleAfterMs: config.selector.staleAfterMs,
  })
  store.retain(config.plugins.map((p) => p.name))
  const selectorOptions: SelectorOptions = {
    tieBand: config.selector.tieBand,
    maxOccupancy: config.selector.maxOccupancy,
    hysteresisMargin: config.selector.hysteresisMargin,
    spreadWindowMs: config.selector.spreadWindowMs,
  }

  // Snapshots cost ~50 µs and /rank is polled: reuse one until samples arrive or it ages out.
  let kpiVersion = 0
  let cached: { key: string, snapshot: KpiSnapshot } | undefined
  const viewKey = (): string => `${kpiVersion}:${Math.floor(now() / DEFAULTS.http.kpiViewReuseMs)}`
  const snapshot = (): KpiSnapshot => {
    const key = viewKey()
    if (cached?.key !== key) cached = { key, snapshot: store.snapshot(now()) }
    return cached.snapshot
  }

  // A ranking depends only on the snapshot and the profile: compute it once per pair, so
  // /rank polls and /v1/select bursts between two snapshots share it.
  const rankings = new WeakMap<KpiSnapshot, Map<string, Ranking>>()
  const rankUnder = (profile: string): Ranking => {
    const weights = profileWeights(config, profile)
    if (weights === undefined) {
      throw new AgentError('UNKNOWN_PROFILE', `unknown profile '${profile}'; valid profiles: ${profileNames(config).join(', ')}`)
    }
    const snap = snapshot()
    let perProfile = rankings.get(snap)
    if (perProfile === undefined) rankings.set(snap, perProfile = new Map())
    let r = perProfile.get(profile)
    if (r === undefined) {
      r = rank({ snapshot: snap, catalog: config.plugins, profileName: profile, weights, options: selectorOptions })
      perProfile.set(profile, r)
    }
    return r
  }

  const scrapeView = (): ScrapeView => {
    const snapshot = store.snapshot(now())
    const scores: ScrapeView['scores'] = []
    for (const profile of profileNames(config)) {
      const weights = profileWeights(config, profile)
      if (weights === undefined) continue
      const r = rank({ snapshot, catalog: config.plugins, profileName: profile, weights, options: selectorOptions })
      for (const p of r.plugins) scores.push({ plugin: p.plugin, profile, score: p.score })
    }
    return { snapshot, scores }
  }
  const metrics = createMetrics(config.node, scrapeView, {
    plugins: config.plugins.map((p) => p.name),
    collectors: ['static', ...(['cadvisor', 'probes', 'ipam'] as const).filter((c) => config.collectors[c].enabled)],
    probes: config.collectors.probes.enabled,
  })

  const audit = await AuditLog.open({
    ...config.audit,
    log: (msg, details, level = 'warn') => log[level]({ ...details }, msg),
  })
  metrics.auditSkippedLines.inc(audit.skippedLines)
  for (const r of audit.records()) metrics.selections.inc({ node: config.node, plugin: r.plugin, reason: r.reason })
  const state = new SelectionState({ spreadWindowMs: config.selector.spreadWindowMs, maxPlacements: DEFAULTS.http.recentPlacementsMax })
  state.restore(audit.records(), now())
  if (audit.records().length > 0) log.info({ decisions: audit.records().length, lastSeq: audit.lastSeq, dir: config.audit.dir }, 'audit: decisions restored')

  let collectors: Collector[]
  if (opts.collectors !== undefined) {
    collectors = opts.collectors
  } else {
    const built = buildCollectors(config, { metrics, log, now })
    collectors = built.collectors
    for (const s of built.skipped) log.warn({ collector: s.name }, `collector ${s.name} is enabled but cannot run: ${s.why}`)
  }

  const ran = new Set<string>()
  const ctx: CollectorContext = {
    node: config.node,
    now,
    emit (samples: KpiSample[]) {
      const { accepted, rejected } = store.ingest(samples)
      if (accepted > 0) kpiVersion++
      for (const r of rejected) {
        metrics.kpiRejected.inc({ reason: checkSample(r.sample)?.kind ?? 'malformed' })
      }
      if (rejected.length > 0) log.warn({ rejected: rejected.length, first: rejected[0]?.why }, 'KPI samples rejected at ingestion')
      return rejected.length
    },
    reportSuccess (collector, atMs) {
      ran.add(collector)
      metrics.collectorLastSuccess.set({ collector }, atMs / 1000)
    },
    reportError (collector, err) {
      ran.add(collector)
      metrics.collectorErrors.inc({ collector })
      log.warn({ collector, err: err instanceof Error ? err.message : String(err) }, 'collector error')
    },
  }

  let closed = false
  const agent: Agent = {
    config,
    store,
    audit,
    metrics,
    state,
    collectors,
    selectorOptions,
    now,
    snapshot,
    viewKey,
    profiles: () => profileNames(config),
    rank: rankUnder,
    readiness () {
      const waiting = collectors.filter((c) => !ran.has(c.name)).map((c) => `collector ${c.name} has not run yet`)
      if (!audit.isOpen) waiting.push('the audit log is not open')
      return { ready: waiting.length === 0, waiting }
    },
    async runCollectorsOnce () {
      await Promise.all(collectors.map(async (c) => {
        try {
          await c.collectOnce(ctx)
        } catch (err) {
          // a collector should report its own errors; one that throws must not stop the others
          ctx.reportError(c.name, err)
        }
      }))
    },
    startCollectors () {
      for (const c of collectors) {
        try {
          c.start(ctx)
        } catch (err) {
          ctx.reportError(c.name, err)
        }
      }
    },
    attachLogger: (l) => log.drainTo(l),
    log,
    async close () {
      if (closed) return
      closed = true
      await Promise.allSettled(collectors.map((c) => c.stop()))
      await audit.close()
    },
  }
  return agent
}

export interface RunningAgent {
  app: FastifyInstance
  agent: Agent
  /** e.g. http://127.0.0.1:9797 */
  url: string
  /** graceful shutdown: stop collectors, close fastify (in-flight requests finish), close the audit */
  close: () => Promise<void>
  /** resolves once the agent has shut down (after close() or a signal) */
  closed: Promise<void>
}

export interface StartOptions extends AgentOptions {
  /** pino options or false; default info-level JSON logs */
  logger?: boolean | object
  /** install SIGTERM/SIGINT handlers that close the agent (default true) */
  handleSignals?: boolean
}

/** Builds the agent and its HTTP server, starts the collectors and listens on config.listen. */
export async function startAgent (config: AgentConfig, opts: StartOptions = {}): Promise<RunningAgent> {
  const agent = await createAgent(config, opts)
  const app = await buildServer({ agent, logger: opts.logger ?? { level: 'info' } })
  let closing: Promise<void> | undefined
  let markClosed: () => void = () => undefined
  const closed = new Promise<void>((resolve) => { markClosed = resolve })
  const onSignal = (signal: NodeJS.Signals): void => {
    app.log.info({ signal }, 'shutting down')
    void close()
  }
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
      await Promise.allSettled(agent.collectors.map((c) => c.stop()))
      await app.close()
      await agent.close()
      markClosed()
    })()
    return closing
  }
  try {
    agent.startCollectors()
    await app.listen({ host: config.listen.host, port: config.listen.port })
  } catch (err) {
    await close()
    throw err
  }
  if (opts.handleSignals ?? true) {
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  }
  const addr = app.server.address()
  const port = addr !== null && typeof addr === 'object' ? addr.port : config.listen.port
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host
  if (!isLoopbackHost(config.listen.host) && config.auth.selectToken === undefined) {
    app.log.warn({ host: config.listen.host }, 'listening beyond loopback without auth.selectToken: /v1/select still answers loopback callers only')
  }
  return { app, agent, url: `http://${host}:${port}`, close, closed }
}

function isLoopbackHost (host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
