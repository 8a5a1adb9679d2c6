/**
 * CNI-Genie's network policy engine, built (docs/isolation.md): the agent watches the
 * logical and physical networks and the NetworkPolicies carrying `genieNetworkpolicy`,
 * validates the networks (writing a `Valid` condition to each one's status), computes the
 * allowed matrix per namespace (contract/genie-policy.ts) and enforces it on the node with
 * nftables (agent/policy-nft.ts), replacing the whole netrank tables on every change. An
 * annotation that does not parse keeps that policy's previous entries in force, and says
 * so (log, /v1/policy, the metric). Rules stay when the agent stops (a restart re-applies
 * the same set); `netrank policy flush` removes them.
 */
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { KubernetesObject } from '@kubernetes/client-node'
import { allowedMatrix, deniedPairs, GENIE_POLICY_ANNOTATION, GeniePolicyError, parseGeniePolicy } from '../contract/genie-policy.js'
import type { GeniePolicyEntry, PolicyMatrix } from '../contract/genie-policy.js'
import type { Logger as FullLogger } from '../contract/logger.js'
type Logger = Pick<FullLogger, 'info' | 'warn'>
import { ISOLATION_PATHS, LOGICAL_PLURAL, isolationPath, validateLogicalNetworks } from '../contract/logical-network.js'
import type { CidrSpan, LogicalVerdict } from '../contract/logical-network.js'
import { cidrSpan } from '../collectors/ipam/cidr-span.js'
import { readNetworkConfs } from '../collectors/ipam/cni-confs.js'
import { confRanges } from '../collectors/ipam/logical-pools.js'
import type { KubeCache } from '../collectors/kube-watch.js'
import { renderRuleset, ruleCounters, NFT_TABLE } from './policy-nft.js'
import type { DeniedPair, NftRunner, RuleNetwork } from './policy-nft.js'

export const POLICY_PATHS = Object.freeze({
  networkPolicies: '/apis/networking.k8s.io/v1/networkpolicies',
  ...ISOLATION_PATHS,
})

/** One NetworkPolicy with the annotation, as the engine holds it. */
export interface PolicyView {
  namespace: string
  name: string
  /** the entries in force: the annotation's, or the last good ones when it does not parse */
  entries: GeniePolicyEntry[]
  /** why the current annotation does not parse (the previous entries stay in force) */
  error?: string
  inForce: 'current' | 'previous' | 'none'
}

/** What `GET /v1/policy` shows. */
export interface PolicyState {
  enabled: true
  generation: number
  /** when the rules now on the node were applied */
  appliedAt?: string
  /** the last apply's or reconcile's error (the rules before it stay) */
  lastError?: string
  networks: Array<{ namespace: string, name: string, valid: boolean, reason: string, subnet?: string, plugin?: string }>
  namespaces: Array<{ namespace: string } & PolicyMatrix>
  policies: PolicyView[]
  rules: { table: string, denied: number, rulesetSha256?: string, droppedPackets: Record<string, number> }
}

export interface PolicyEngineDeps {
  caches: { networkPolicies: () => Promise<KubeCache<KubernetesObject>>, logical: () => Promise<KubeCache<KubernetesObject>>, physical: () => Promise<KubeCache<KubernetesObject>> }
  /** PATCH (merge) of a path; used for the logical networks' status */
  patch: (path: string, body: unknown) => Promise<unknown>
  /** POST of an object (a Kubernetes Event on a policy whose annotation does not parse) */
  post?: (path: string, body: unknown) => Promise<unknown>
  /** the node, as the Events' reporting instance */
  node?: string
  runner: NftRunner
  confDir: string
  log: Logger
  intervalMs?: number
  table?: string
  /** where the last good entries of each policy are kept, so a restart with an unparsable annotation keeps them in force */
  stateFile?: string
  /** each round's result, with the number of denied directions now in force */
  onReconcile?: (result: 'applied' | 'unchanged' | 'error', denied: number) => void
  onParseError?: () => void
}

export interface PolicyEngine {
  start: () => void
  stop: () => Promise<void>
  /** one round now (tests; the loop calls it every intervalMs) */
  reconcile: () => Promise<'applied' | 'unchanged' | 'error'>
  state: () => Promise<PolicyState>
}

interface Obj { metadata?: { name?: string, namespace?: string, resourceVersion?: string, annotations?: Record<string, string> } }

function loadLastGood (file: string | undefined, log: Logger): Array<[string, GeniePolicyEntry[]]> {
  if (file === undefined) return []
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as unknown
    if (!Array.isArray(v)) throw new Error('not a list')
    return v.filter((e): e is [string, GeniePolicyEntry[]] => Array.isArray(e) && typeof e[0] === 'string' && Array.isArray(e[1]))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log.warn({ file, err }, 'the policy engine\'s saved entries are unreadable; starting without them')
    return []
  }
}

function saveLastGood (file: string, entries: Map<string, GeniePolicyEntry[]>): void {
  mkdirSync(dirname(file), { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify([...entries].sort()) + '\n', { mode: 0o600 })
  renameSync(tmp, file)
}

export function createPolicyEngine (deps: PolicyEngineDeps): PolicyEngine {
  const table = deps.table ?? NFT_TABLE
  const lastGood = new Map<string, GeniePolicyEntry[]>(loadLastGood(deps.stateFile, deps.log))
  let savedLastGood = JSON.stringify([...lastGood].sort())
  const reportedErrors = new Map<string, string>()
  const writtenConditions = new Map<string, string>()
  let lastFingerprint = ''
  let lastRuleset: string | undefined
  let lastShown: Omit<PolicyState, 'rules'> & { denied: number } = { enabled: true, generation: 0, networks: [], namespaces: [], policies: [], denied: 0 }
  let timer: NodeJS.Timeout | undefined
  let running: Promise<unknown> | undefined
  let stopped = false

  const pluginRanges = async (): Promise<(plugin: string) => CidrSpan[] | undefined> => {
    try { return confRanges((await readNetworkConfs(deps.confDir)).byName) } catch { return () => undefined }
  }

  const writeCondition = async (v: LogicalVerdict): Promise<void> => {
    const key = `${v.namespace}/${v.name}`
    const msg = `${String(v.valid)}:${v.reason}`
    if (writtenConditions.get(key) === msg) return
    const condition = { type: 'Valid', status: v.valid ? 'True' : 'False', reason: v.valid ? 'Valid' : 'Invalid', message: v.reason, lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }
    try {
      await deps.patch(`${isolationPath(LOGICAL_PLURAL, v.namespace, v.name)}/status`, { status: { conditions: [condition] } })
      writtenConditions.set(key, msg)
      if (!v.valid) deps.log.warn({ logicalNetwork: key, reason: v.reason }, 'logical network invalid: pods naming it fail ADD')
    } catch (err) {
      deps.log.warn({ logicalNetwork: key, err }, 'could not write the logical network\'s Valid condition')
    }
  }

  // the policy's owner sees it where they look: `kubectl describe networkpolicy` / `kubectl get events`
  const postEvent = async (o: Obj & { metadata?: { uid?: string } }, why: string, previousInForce: boolean): Promise<void> => {
    if (deps.post === undefined) return
    const ns = o.metadata?.namespace ?? 'default'
    const name = o.metadata?.name ?? ''
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
    try {
      await deps.post(`/api/v1/namespaces/${encodeURIComponent(ns)}/events`, {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${name}.`, namespace: ns },
        involvedObject: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', namespace: ns, name, ...(o.metadata?.uid === undefined ? {} : { uid: o.metadata.uid }) },
        type: 'Warning',
        reason: 'InvalidGenieNetworkpolicy',
        message: `${GENIE_POLICY_ANNOTATION} does not parse: ${why}; ${previousInForce ? 'its previous entries stay in force' : 'it has no entries in force'}`,
        source: { component: 'netrank-agent', ...(deps.node === undefined ? {} : { host: deps.node }) },
        reportingComponent: 'netrank-agent',
        reportingInstance: deps.node ?? '',
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      })
    } catch (err) {
      deps.log.warn({ policy: `${ns}/${name}`, err }, 'could not post the Event for the policy')
    }
  }

  const reconcile = async (): Promise<'applied' | 'unchanged' | 'error'> => {
    let result: 'applied' | 'unchanged' | 'error' = 'unchanged'
    try {
      const [npC, lC, pC] = await Promise.all([deps.caches.networkPolicies(), deps.caches.logical(), deps.caches.physical()])
      if (!npC.synced || !lC.synced || !pC.synced) throw new Error(`waiting for the first list (${[[npC, 'networkpolicies'], [lC, 'logicalnetworks'], [pC, 'physicalnetworks']].filter(([c]) => !(c as KubeCache<KubernetesObject>).synced).map(([c, n]) => `${n as string}${(c as KubeCache<KubernetesObject>).lastError === undefined ? '' : `: ${(c as KubeCache<KubernetesObject>).lastError ?? ''}`}`).join(', ')})`)
      const policies = (npC.list() as Obj[]).filter((o) => o.metadata?.annotations?.[GENIE_POLICY_ANNOTATION] !== undefined)
      const logicals = lC.list() as unknown[]
      const physicals = pC.list() as unknown[]
      const rv = (o: Obj): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}@${o.metadata?.resourceVersion ?? ''}`
      const fingerprint = JSON.stringify([policies.map(rv).sort(), (logicals as Obj[]).map(rv).sort(), (physicals as Obj[]).map(rv).sort(), lastRuleset === undefined])
      if (fingerprint === lastFingerprint) { deps.onReconcile?.('unchanged', lastShown.denied); return 'unchanged' }

      const verdicts = validateLogicalNetworks({ physicals, logicals, parseCidr: cidrSpan, pluginRanges: await pluginRanges() })
      const views: PolicyView[] = []
      for (const o of policies) {
        const ns = o.metadata?.namespace ?? 'default'
        const name = o.metadata?.name ?? ''
        const key = `${ns}/${name}`
        try {
          const entries = parseGeniePolicy(o.metadata?.annotations?.[GENIE_POLICY_ANNOTATION] ?? '')
          lastGood.set(key, entries)
          reportedErrors.delete(key)
          views.push({ namespace: ns, name, entries, inForce: 'current' })
        } catch (err) {
          if (!(err instanceof GeniePolicyError)) throw err
          const prev = lastGood.get(key)
          if (reportedErrors.get(key) !== err.message) {
            reportedErrors.set(key, err.message)
            deps.onParseError?.()
            void postEvent(o, err.message, prev !== undefined)
            deps.log.warn({ policy: key, err: err.message, inForce: prev === undefined ? 'none' : 'previous' }, `${GENIE_POLICY_ANNOTATION} does not parse; ${prev === undefined ? 'the policy has no entries in force' : 'its previous entries stay in force'}`)
          }
          views.push({ namespace: ns, name, entries: prev ?? [], error: err.message, inForce: prev === undefined ? 'none' : 'previous' })
        }
      }
      for (const k of [...lastGood.keys()]) if (!views.some((v) => `${v.namespace}/${v.name}` === k)) lastGood.delete(k) // deleted policies no longer count
      const nowGood = JSON.stringify([...lastGood].sort())
      if (deps.stateFile !== undefined && nowGood !== savedLastGood) {
        try {
          saveLastGood(deps.stateFile, lastGood)
          savedLastGood = nowGood
        } catch (err) { deps.log.warn({ file: deps.stateFile, err }, 'could not save the policies\' entries (a restart would not know them)') }
      }

      // the matrix per namespace, over its valid logical networks
      const valid = [...verdicts.values()].filter((v) => v.valid && v.span !== undefined)
      const namespaces = [...new Set([...valid.map((v) => v.namespace), ...views.map((v) => v.namespace)])].sort()
      const matrices = namespaces.map((ns) => ({ namespace: ns, ...allowedMatrix(valid.filter((v) => v.namespace === ns).map((v) => v.name), views.filter((v) => v.namespace === ns).flatMap((v) => v.entries)) }))
      const net = (ns: string, name: string): RuleNetwork | undefined => {
        const v = valid.find((x) => x.namespace === ns && x.name === name)
        return v?.span === undefined ? undefined : { key: `${ns}/${name}`, family: v.span.family, cidr: v.span.text }
      }
      const denied: DeniedPair[] = []
      for (const m of matrices) {
        for (const [a, b] of deniedPairs(m)) {
          const na = net(m.namespace, a)
          const nb = net(m.namespace, b)
          if (na === undefined || nb === undefined) continue
          denied.push({ from: na, to: nb }, { from: nb, to: na })
        }
      }
      const ruleset = renderRuleset(denied, table)
      if (ruleset !== lastRuleset) {
        await deps.runner.apply(ruleset)
        lastRuleset = ruleset
        result = 'applied'
        deps.log.info({ denied: denied.length, namespaces: namespaces.length, networks: valid.length }, 'network policy applied (nftables)')
      }
      await Promise.all([...verdicts.values()].map(writeCondition))
      lastFingerprint = fingerprint
      lastShown = {
        enabled: true,
        generation: lastShown.generation + (result === 'applied' ? 1 : 0),
        ...(result === 'applied' ? { appliedAt: new Date().toISOString() } : lastShown.appliedAt === undefined ? {} : { appliedAt: lastShown.appliedAt }),
        networks: [...verdicts.values()].map((v) => ({ namespace: v.namespace, name: v.name, valid: v.valid, reason: v.reason, ...(v.network === undefined ? {} : { subnet: v.network.subSubnet }), ...(v.plugin === undefined ? {} : { plugin: v.plugin }) })).sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`)),
        namespaces: matrices,
        policies: views,
        denied: denied.length,
      }
      deps.onReconcile?.(result, denied.length)
      return result
    } catch (err) {
      const msg = (err as Error).message
      // said when it changes, not every round (a cluster without the CRDs would repeat it every second)
      if (lastShown.lastError !== msg) deps.log.warn({ err }, 'network policy reconcile failed; the rules in force stay')
      lastShown = { ...lastShown, lastError: msg }
      deps.onReconcile?.('error', lastShown.denied)
      return 'error'
    }
  }

  const loop = (): void => {
    if (stopped) return
    running = reconcile().finally(() => {
      running = undefined
      if (!stopped) timer = setTimeout(loop, deps.intervalMs ?? 500)
    })
  }

  return {
    start () { stopped = false; if (timer === undefined && running === undefined) loop() },
    async stop () {
      stopped = true
      if (timer !== undefined) clearTimeout(timer)
      timer = undefined
      await running
    },
    reconcile,
    async state () {
      let counters: Record<string, number> = {}
      try { counters = ruleCounters(await deps.runner.list('inet', table)) } catch { counters = {} }
      const { denied, ...shown } = lastShown
      return {
        ...shown,
        rules: { table, denied, ...(lastRuleset === undefined ? {} : { rulesetSha256: createHash('sha256').update(lastRuleset).digest('hex') }), droppedPackets: counters },
      }
    },
  }
}
