/**
 * The agent: KPI store, collectors, selection state, decision audit and metrics wired
 * together. `createAgent` builds it without listening (tests, bench); start-agent.ts adds
 * the HTTP server, starts the collectors and listens.
 */
import { join } from 'node:path'
import { rank } from '../selector/index.js'
import type { Demand, Profile, Ranking, SelectorOptions } from '../selector/types.js'
import type { KpiSample, KpiSnapshot } from '../contract/kpis.js'
import type { Collector, CollectorContext } from '../collectors/types.js'
import { AuditLog } from './audit-log.js'
import { buildCollectors } from './build-collectors.js'
import { profileNames, profileOf, selectorOptions } from './config/load-config.js'
import type { AgentConfig } from './config/load-config.js'
import { agentError } from './errors.js'
import { checkSample, KpiStore } from '../store/kpi-store.js'
import { createMetrics } from './metrics.js'
import type { AgentMetrics, ScrapeView } from './metrics.js'
import { SelectionState } from '../store/selection-state.js'
import { SharedKube } from '../collectors/kube-watch.js'
import { createPolicyEngine, POLICY_PATHS } from './policy-engine.js'
import type { PolicyEngine } from './policy-engine.js'
import { nftRunner } from './policy-nft.js'
import { KubeApiError } from '../collectors/kube-api.js'
import { hasKubernetes } from './build-collectors.js'
import type { PlanKube } from './plan-kube.js'
import { PodStatusQueue } from './pod-status-queue.js'
import { ShimTokenMinter } from './shim-token.js'
import { lostStatuses } from './status-recovery.js'
import type { PodStatusRequest } from '../contract/plan-api.js'
import { ShimFailuresSource } from '../collectors/shim-failures-source.js'
import { confActive } from '../collectors/conf-active.js'
import { packageVersion } from './package-version.js'

// Internal bounds, not configuration.
const AGENT_TUNING = Object.freeze({
  // bound on remembered placements (phantom load): a node runs ~110 pods, so 2048 placements
  // in the 5-minute spread window is beyond any real churn; the selector validates and scans
  // every placement on each /v1/select (~0.15 µs each)
  recentPlacementsMax: 2048,
  // distinct (profile, demand, placements) rankings kept per snapshot before the cache is emptied
  rankingsPerSnapshot: 64,
  // the KPI snapshot and each profile's /rank answer are reused for this long unless a
  // collector delivers new samples first: ages shown are at most 0.25 s old
  kpiViewReuseMs: 250, // 0.25 s
})

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
  /** replaces the Kubernetes access of the plan service and the status patches (tests) */
  planKube?: PlanKube & { patchPodAnnotations: (req: PodStatusRequest) => Promise<'patched' | 'gone'> }
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
  /** the shim's plan service's view of Kubernetes; undefined without `kubernetes` configured */
  readonly planKube: PlanKube | undefined
  /** status annotations handed over by the shim, patched in the background; undefined without `kubernetes` */
  readonly podStatus: PodStatusQueue | undefined
  /** starts the informer /v1/plan reads pods from (the agent socket's listener calls it) */
  warmPlanCache: () => void
  /** queues again the status annotations records carry and their pods lack (agent/status-recovery.ts); resolves with how many */
  recoverPodStatuses: () => Promise<number>
  /** starts minting the shim's token (shimToken.enabled); startAgent calls it */
  startShimToken: () => void
  now: () => number
  /** the KPI snapshot now, reused for up to AGENT_TUNING.kpiViewReuseMs unless new samples arrived */
  snapshot: () => KpiSnapshot
  /** changes whenever the reused snapshot would: new samples, or the reuse period ended */
  viewKey: () => string
  /** built-in then operator profile names */
  profiles: () => string[]
  /** ranking under a profile right now; AgentError NR_UNKNOWN_PROFILE when it is not known */
  rank: (profile: string, demand?: Demand & { source: string }) => Ranking
  /** the profile as the selector uses it; AgentError NR_UNKNOWN_PROFILE when it is not known */
  profile: (name: string) => Profile
  /** ready once every collector ran once and the audit is open; `waiting` says on what */
  readiness: () => { ready: boolean, waiting: string[] }
  /** one cycle of every collector (they report their own errors) */
  runCollectorsOnce: () => Promise<void>
  /** the network policy engine (policy.enabled with kubernetes) */
  policy: PolicyEngine | undefined
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
  const options: SelectorOptions = selectorOptions(config)

  // Snapshots cost ~50 µs and /rank is polled: reuse one until samples arrive or it ages out.
  let kpiVersion = 0
  let cached: { key: string, snapshot: KpiSnapshot } | undefined
  const viewKey = (): string => `${kpiVersion}:${Math.floor(now() / AGENT_TUNING.kpiViewReuseMs)}`
  const snapshot = (): KpiSnapshot => {
    const key = viewKey()
    if (cached?.key !== key) cached = { key, snapshot: store.snapshot(now()) }
    return cached.snapshot
  }

  const state = new SelectionState({ spreadWindowMs: config.selector.spreadWindowMs, maxPlacements: AGENT_TUNING.recentPlacementsMax })

  // A ranking depends on the snapshot, the profile, the demand and the recent placements
  // (phantom load): compute it once per combination, so /rank polls between two snapshots
  // share it; each placement changes it, as it should.
  const rankings = new WeakMap<KpiSnapshot, Map<string, Ranking>>()
  const profileFor = (profile: string): Profile => {
    const p = profileOf(config, profile)
    if (p === undefined) throw agentError('NR_UNKNOWN_PROFILE', `unknown profile '${profile}'; valid profiles: ${profileNames(config).join(', ')}`)
    return p
  }
  const rankUnder = (profile: string, demand?: Demand & { source: string }): Ranking => {
    const p = profileFor(profile)
    const snap = snapshot()
    let cache = rankings.get(snap)
    if (cache === undefined) rankings.set(snap, cache = new Map())
    const d = demand ?? { ...p.demand, source: 'profile' }
    const recent = state.recent(snap.atMs)
    const key = `${profile}\0${d.rxBps}\0${d.txBps}\0${d.source}\0${state.version()}`
    let r = cache.get(key)
    if (r === undefined) {
      if (cache.size >= AGENT_TUNING.rankingsPerSnapshot) cache.clear()
      r = rank({ snapshot: snap, catalog: config.plugins, profileName: profile, profile: p, options, demand: d, recent })
      cache.set(key, r)
    }
    return r
  }

  const scrapeView = (): ScrapeView => {
    const snapshot = store.snapshot(now())
    const scores: ScrapeView['scores'] = []
    const eligible: ScrapeView['eligible'] = []
    const recent = state.recent(snapshot.atMs)
    for (const profile of profileNames(config)) {
      const p = profileOf(config, profile)
      if (p === undefined) continue
      const r = rank({ snapshot, catalog: config.plugins, profileName: profile, profile: p, options, recent })
      for (const x of r.plugins) scores.push({ plugin: x.plugin, profile, score: x.score })
      if (profile === config.selector.defaultProfile) for (const x of r.plugins) eligible.push({ plugin: x.plugin, eligible: x.eligible })
    }
    return { snapshot, scores, eligible }
  }

  // the shim's failed ADDs, read at each scrape; each one is logged too (the pod stays in ContainerCreating)
  const failures = new ShimFailuresSource({ stateDir: config.cni.stateDir, now })
  const shimFailures = (): ReturnType<ShimFailuresSource['read']> => {
    const r = failures.read()
    for (const f of r.failures) log.warn({ code: f.code, error: f.error, containerId: f.containerId, pod: f.pod !== undefined ? `${f.namespace ?? ''}/${f.pod}` : undefined, at: f.time }, 'shim: CNI ADD failed')
    if (r.bad > 0) log.warn({ file: failures.file, lines: r.bad }, 'shim failure lines that do not parse were skipped')
    return r
  }
  // the conf dir, read at each scrape; a change is logged once
  let lastConf: string | undefined
  const confState = (): { active: boolean, first: string } => {
    const c = confActive(config.cni.confDir)
    const key = `${c.active}\0${c.first}`
    if (key !== lastConf) {
      if (!c.active) log.warn({ confDir: config.cni.confDir, first: c.first, why: c.why }, 'netrank\'s conf is not the first in the conf dir: the runtime does not call netrank for new pods')
      else if (lastConf !== undefined) log.info({ confDir: config.cni.confDir, first: c.first }, 'netrank\'s conf is the first in the conf dir again')
      lastConf = key
    }
    return c
  }
  const metrics = createMetrics(config.node, scrapeView, {
    plugins: config.plugins.map((p) => p.name),
    collectors: ['static', ...(['cadvisor', 'probes', 'ipam'] as const).filter((c) => config.collectors[c].enabled)],
    probes: config.collectors.probes.enabled,
    policy: config.policy.enabled && hasKubernetes(config),
    profiles: profileNames(config),
  }, {
    shimFailures,
    confActive: confState,
    build: { version: packageVersion() },
  })

  const audit = await AuditLog.open({
    ...config.audit,
    log,
  })
  metrics.auditSkippedLines.inc(audit.skippedLines)
  for (const r of audit.records()) metrics.selections.inc({ node: config.node, plugin: r.plugin, reason: r.reason, profile: metrics.profileLabel(r.profile) })
  state.restore(audit.records(), now())
  if (audit.records().length > 0) log.info({ decisions: audit.records().length, lastSeq: audit.lastSeq, dir: config.audit.dir }, 'audit: decisions restored')

  // One Kubernetes access for the collectors' watches and the plan service; stopped with the agent.
  const kube = hasKubernetes(config) ? new SharedKube(config.kubernetes, config.node) : undefined
  let planKube: (PlanKube & { patchPodAnnotations: (req: PodStatusRequest) => Promise<'patched' | 'gone'> }) | undefined = opts.planKube
  if (planKube === undefined && kube !== undefined) {
    planKube = {
      async cachedPod (namespace, name) {
        const pods = await kube.nodePods()
        if (!pods.synced) return undefined
        return pods.list().find((p) => p.metadata?.name === name && p.metadata.namespace === namespace)
      },
      getPod: async (namespace, name) => await (await kube.api()).getPod(namespace, name),
      getNad: async (namespace, name) => await (await kube.api()).getNad(namespace, name),
      patchPodAnnotations: async (r) => await (await kube.api()).patchPodAnnotations(r.namespace, r.name, r.annotations, r.uid),
    }
  }
  const patcher = planKube
  const podStatus = patcher === undefined
    ? undefined
    : new PodStatusQueue({
      patch: (r) => patcher.patchPodAnnotations(r),
      statusOf: (err) => err instanceof KubeApiError ? err.status : undefined,
      onResult: (result, r, err) => {
        metrics.podStatusPatches.inc({ node: config.node, result })
        if (result === 'failed' || result === 'dropped-at-shutdown') log.warn({ pod: `${r.namespace}/${r.name}`, result, err }, 'pod status annotations not written')
        else if (result === 'conflict') log.info({ pod: `${r.namespace}/${r.name}`, uid: r.uid }, 'pod was recreated before its status patch; not written onto the new pod')
      },
    })

  let collectors: Collector[]
  if (opts.collectors !== undefined) {
    collectors = opts.collectors
  } else {
    const built = buildCollectors(config, { metrics, log, now, ...(kube !== undefined ? { kube } : {}) })
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
      log.warn({ collector, err }, 'collector error')
    },
  }

  // the shim's own token, minted through TokenRequest (agent/shim-token.ts)
  const shimToken = config.shimToken.enabled && kube !== undefined
    ? new ShimTokenMinter({
      ...config.shimToken,
      request: async (path, body) => await (await kube.api()).request('POST', path, body),
      onMinted: (at) => {
        metrics.shimTokenExpiry.set({ node: config.node }, at / 1000)
        log.info({ file: config.shimToken.file, expires: new Date(at).toISOString() }, 'shim token minted')
      },
      onError: (err) => {
        metrics.shimTokenErrors.inc({ node: config.node })
        log.warn({ err, serviceAccount: `${config.shimToken.namespace}/${config.shimToken.serviceAccount}` }, 'could not mint the shim\'s token; retrying')
      },
      now,
    })
    : undefined
  // CNI-Genie's network policy engine: logical networks and genieNetworkpolicy → nftables
  const policy = config.policy.enabled && kube !== undefined
    ? createPolicyEngine({
      caches: {
        networkPolicies: async () => await kube.collection(POLICY_PATHS.networkPolicies),
        logical: async () => await kube.collection(POLICY_PATHS.logical),
        physical: async () => await kube.collection(POLICY_PATHS.physical),
      },
      patch: async (path, body) => await (await kube.api()).request('PATCH', path, body, 'application/merge-patch+json'),
      post: async (path, body) => await (await kube.api()).request('POST', path, body),
      node: config.node,
      runner: nftRunner(config.policy.nft),
      confDir: config.cni.confDir,
      table: config.policy.table,
      intervalMs: config.policy.intervalMs,
      stateFile: join(config.audit.dir, 'policy-last-good.json'),
      log,
      onReconcile: (result, denied) => {
        metrics.policyReconciles.inc({ node: config.node, result })
        metrics.policyDeniedPairs.set({ node: config.node }, denied)
      },
      onParseError: () => { metrics.policyAnnotationErrors.inc({ node: config.node }) },
    })
    : undefined
  if (config.policy.enabled && kube === undefined) log.warn({}, 'policy.enabled is set but `kubernetes` is not configured: the policy engine does not run')
  let shimTokenStarted = false
  // the informer /v1/plan reads pods from, once warmPlanCache started it
  let planCache: { readonly synced: boolean } | undefined
  let closed = false
  const agent: Agent = {
    config,
    store,
    audit,
    metrics,
    state,
    collectors,
    selectorOptions: options,
    planKube,
    podStatus,
    async recoverPodStatuses () {
      if (planKube === undefined || podStatus === undefined) return 0
      try {
        const lost = await lostStatuses(config.cni.stateDir, planKube.cachedPod)
        for (const r of lost) podStatus.enqueue(r)
        if (lost.length > 0) log.info({ pods: lost.map((r) => `${r.namespace}/${r.name}`) }, 'status annotations the shim handed over but no pod shows: queued again')
        return lost.length
      } catch (err) {
        log.warn({ err }, 'status recovery: attachment records could not be compared with their pods')
        return 0
      }
    },
    policy,
    startShimToken () {
      if (shimToken === undefined || shimTokenStarted) return
      shimTokenStarted = true
      shimToken.start()
    },
    warmPlanCache () {
      if (opts.planKube !== undefined || kube === undefined) return
      planCache = { synced: false }
      kube.nodePods().then((c) => {
        planCache = c
        if (c.synced) void agent.recoverPodStatuses()
      }, (err: unknown) => log.warn({ err }, 'plan service: the pod informer did not start; pods are read from the API'))
    },
    now,
    snapshot,
    viewKey,
    profiles: () => profileNames(config),
    rank: rankUnder,
    profile: profileFor,
    readiness () {
      const waiting = collectors.filter((c) => !ran.has(c.name)).map((c) => `collector ${c.name} has not run yet`)
      if (!audit.isOpen) waiting.push('the audit log is not open')
      if (shimTokenStarted && shimToken?.expiresAtMs === undefined) waiting.push('the shim\'s token has not been minted yet')
      // served on the socket: until this node's pods are listed every plan waits for a GET
      if (planCache !== undefined && !planCache.synced) waiting.push('the plan service\'s informer of this node\'s pods has not listed them yet')
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
      await policy?.stop() // the rules stay on the node: a restart re-applies the same set
      shimToken?.stop()
      await podStatus?.close()
      await kube?.stop()
      await audit.close()
    },
  }
  return agent
}
