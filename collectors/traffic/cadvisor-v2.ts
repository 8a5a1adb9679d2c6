/**
 * A standalone cAdvisor's `/api/v2.0/stats` → per pod interface counters.
 *
 * The answer is a map keyed by container name (the cgroup path) of
 * DeprecatedContainerStats[] (`timestamp`, `has_network`, `network.interfaces[]`); it has
 * no labels. Pods are found from `/api/v2.0/spec` labels when the caller passes that map
 * (name → ContainerSpec with `labels`), else from the pod UID in the cgroup path through
 * the caller's `resolvePod(uid)` (the agent knows its node's pods from the API). Without
 * labels the sandbox is the container under a pod cgroup with has_network true: app
 * containers join its netns and report has_network false. The v2.1 shape (name →
 * {spec, stats[]}) is accepted too.
 */
import { interfacesOf, isObj, newestStats, podFromLabels } from './cadvisor-v1.js'
import type { CadvisorParseResult } from './cadvisor-v1.js'
import { compareCounters, podKey, podUidFromCgroup } from './pod-network-counters.js'
import type { PodCounterFilter, PodInterfaceCounters } from './pod-network-counters.js'

export interface CadvisorV2Options extends PodCounterFilter {
  /** `/api/v2.0/spec` answer: container name → ContainerSpec (labels, has_network) */
  specs?: unknown
  /** pod UID → its namespace and name, for containers without labels */
  resolvePod?: (uid: string) => { namespace: string, pod: string } | undefined
}

export interface CadvisorV2ParseResult extends CadvisorParseResult {
  /** sandboxes whose pod UID the resolver did not know (new pods, other nodes' caches) */
  unresolvedUids: string[]
}

/** Parse `/api/v2.0/stats` (or v2.1). Throws a TypeError when the document is not a map. */
export function parseCadvisorV2Stats (input: string | unknown, opts: CadvisorV2Options = {}): CadvisorV2ParseResult {
  let doc: unknown = input
  if (typeof input === 'string') {
    try {
      doc = JSON.parse(input)
    } catch (err) {
      throw new TypeError(`cAdvisor v2.0 stats: not JSON (${(err as Error).message})`)
    }
  }
  if (!isObj(doc)) throw new TypeError('cAdvisor v2.0 stats: expected a map of container name → stats[]')
  const specs = isObj(opts.specs) ? opts.specs : {}
  const out: PodInterfaceCounters[] = []
  const excluded: string[] = []
  const unresolved: string[] = []
  let sandboxes = 0
  for (const [name, value] of Object.entries(doc)) {
    // v2.0: stats[]; v2.1: {spec, stats[]}
    const stats = Array.isArray(value) ? value : isObj(value) ? value.stats : undefined
    const spec = isObj(specs[name]) ? specs[name] : isObj(value) && isObj(value.spec) ? value.spec : undefined
    const latest = newestStats(stats)
    if (latest === undefined) continue
    let who = podFromLabels(spec?.labels)
    let uid = who?.uid
    if (who === undefined) {
      uid = podUidFromCgroup(name)
      // The sandbox sits below the pod cgroup (…/pod<uid>/<id>), never the pod cgroup itself.
      const underPod = uid !== undefined && !/pod[0-9a-fA-F_-]+(\.slice)?$/.test(name)
      const hasNet = latest.entry.has_network === true || spec?.has_network === true
      if (uid === undefined || !underPod || !hasNet) continue
      const ref = opts.resolvePod?.(uid)
      sandboxes++
      if (ref === undefined) { unresolved.push(uid); continue }
      who = { namespace: ref.namespace, pod: ref.pod, uid, sandbox: true }
    } else {
      if (!who.sandbox) continue
      sandboxes++
    }
    const key = podKey(who.namespace, who.pod)
    if (opts.hostNetworkPods?.has(key) === true) { excluded.push(key); continue }
    for (const i of interfacesOf(latest.entry.network)) {
      const r: PodInterfaceCounters = { namespace: who.namespace, pod: who.pod, interface: i.name, rxBytes: i.rx, txBytes: i.tx, atMs: latest.atMs, sandboxId: name }
      if (uid !== undefined) r.podUid = uid
      out.push(r)
    }
  }
  return { counters: out.sort(compareCounters), sandboxes, hostNetworkExcluded: excluded, unresolvedUids: unresolved.sort() }
}
