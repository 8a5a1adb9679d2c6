/**
 * Per pod interface byte counters, the common output of every traffic source
 * (kubelet /metrics/cadvisor, standalone cAdvisor /metrics, /api/v1.3, /api/v2.0, /stats/summary).
 *
 * A pod's network counters live on its sandbox (the pause container): every container of
 * the pod shares that network namespace, so app-container series (where a runtime reports
 * them) repeat the same numbers and must not be added. The node's root cgroup (id "/")
 * carries the node's own interfaces and is never a pod.
 */
import type { NetworkSeriesRecord } from './prom-text-network.js'

/** Cumulative bytes of one interface of one pod, as last reported. */
export interface PodInterfaceCounters {
  namespace: string
  pod: string
  podUid?: string
  interface: string
  rxBytes: number
  txBytes: number
  /** when the counters were read, ms since the epoch */
  atMs: number
  /** the sandbox's container ID or cgroup: a new sandbox restarts its counters at zero */
  sandboxId?: string
}

/** `namespace/pod`, the key for host-network sets and attribution. */
export function podKey (namespace: string, pod: string): string {
  return `${namespace}/${pod}`
}

/** Options every source shares. */
export interface PodCounterFilter {
  /**
   * `namespace/pod` keys of pods that use the host network. Their "pod" counters are the
   * node's interfaces (≈ all of the node's traffic) and would swamp every plugin's rate.
   */
  hostNetworkPods?: ReadonlySet<string>
}

// kubelet cgroup ids: /kubepods/burstable/pod<uid>/<ctr> (cgroupfs) or
// /kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid_with_underscores>.slice/… (systemd).
const CGROUPFS_POD = /\/pod([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})(?:\/|$)/
const SYSTEMD_POD = /-pod([0-9a-fA-F]{8}_[0-9a-fA-F]{4}_[0-9a-fA-F]{4}_[0-9a-fA-F]{4}_[0-9a-fA-F]{12}|[0-9a-fA-F]{32})\.slice/

/** The pod UID in a kubelet cgroup path, or undefined (root cgroup, system slices, Docker-era names). */
export function podUidFromCgroup (id: string): string | undefined {
  const a = CGROUPFS_POD.exec(id)
  if (a?.[1] !== undefined) return a[1]
  const b = SYSTEMD_POD.exec(id)
  if (b?.[1] !== undefined) return b[1].replaceAll('_', '-')
  return undefined
}

/** Is this series the pod sandbox's (where the pod's network counters live)? */
export function isSandboxSeries (r: Pick<NetworkSeriesRecord, 'pod' | 'id' | 'container' | 'image'>): boolean {
  if (r.pod === '' || r.id === '/') return false
  // containerd/CRI-O kubelet: the sandbox has container=""; Docker-era: container="POD".
  return r.container === '' || r.container === 'POD'
}

/**
 * A copy of `s` that does not keep its parent alive. Label values are slices of the
 * 64 KiB chunk strings they were parsed from; stored as they are, every counter would pin
 * its chunk, and long-lived map keys built from them would pin a whole page.
 */
function detach (s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1) // V8 copies short slices anyway
}

interface Acc {
  iface: string
  sandboxId: string
  rx: number | undefined
  tx: number | undefined
  atMs: number | undefined
  /** the cycle (see PodCounterAggregator.begin) the accumulator holds values of */
  cycle: number
}

interface PodState {
  namespace: string
  pod: string
  /** podKey(namespace, pod), built once */
  key: string
  podUid: string | undefined
  /** the cgroup id podUid was read from (a pod seen again with the same id has the same uid) */
  uidFromId: string | undefined
  hostNetwork: boolean
  /** the sandbox chosen (newest timestamp wins when a page shows two) */
  sandboxId: string | undefined
  sandboxAtMs: number
  /** the sandbox of the last page (its string is reused while the sandbox stays) */
  lastSandboxId: string | undefined
  ifaces: Map<string, Acc>
  /** ifaces sorted by name; undefined when one was added or dropped */
  sorted: Acc[] | undefined
  /** the cycle the per-cycle fields (podUid, hostNetwork, sandbox) are of */
  cycle: number
}

export interface AggregateStats {
  /** samples seen */
  records: number
  /** samples of the node root cgroup (id "/") */
  root: number
  /** samples of non-sandbox containers or series without a pod */
  nonSandbox: number
  /** samples of pods in hostNetworkPods */
  hostNetwork: number
  /** samples (or, at the end, interfaces) of an older sandbox of a pod that has a newer one on the same page */
  staleSandbox: number
  /** interfaces dropped because rx or tx was missing or not a finite number ≥ 0 */
  incomplete: number
}

const newStats = (): AggregateStats => ({ records: 0, root: 0, nonSandbox: 0, hostNetwork: 0, staleSandbox: 0, incomplete: 0 })

/**
 * Folds network-family records (bytes families) into per pod interface counters, one
 * record at a time, so it can sit directly behind the streaming parser. Memory is one
 * small entry per pod interface. Pages list a pod's interfaces one after another, so the
 * last pod is remembered and most records cost no lookup at all.
 *
 * One aggregator can serve scrape after scrape: begin() starts the next page, and the
 * entries of the pods and interfaces still there are reused (keyed once, updated in
 * place), so a cycle allocates per pod interface only its output; a pod or interface
 * missing from a page is dropped by that page's result(). Every page's result is the same
 * as a new aggregator's would be.
 */
export class PodCounterAggregator {
  /** namespace → pod → state */
  readonly #pods = new Map<string, Map<string, PodState>>()
  #hostNet: ReadonlySet<string> | undefined
  #cycle = 1
  /** the pods sorted by namespace, pod; undefined when one was added or dropped */
  #sorted: PodState[] | undefined
  #last: PodState | undefined
  stats: AggregateStats = newStats()

  constructor (opts: PodCounterFilter = {}) {
    this.#hostNet = opts.hostNetworkPods
  }

  /** Start the next page (with this page's filter): the previous page's counters are forgotten. */
  begin (opts: PodCounterFilter = {}): void {
    this.#cycle++
    this.#hostNet = opts.hostNetworkPods
    this.#last = undefined
    this.stats = newStats() // a new object: the last page's figures stay as they were
  }

  #podState (r: NetworkSeriesRecord): PodState {
    let st = this.#last
    if (st === undefined || r.pod !== st.pod || r.namespace !== st.namespace) {
      let inNs = this.#pods.get(r.namespace)
      if (inNs === undefined) this.#pods.set(detach(r.namespace), inNs = new Map())
      st = inNs.get(r.pod)
      if (st === undefined) {
        const namespace = detach(r.namespace)
        const pod = detach(r.pod)
        st = {
          namespace, pod, key: podKey(namespace, pod), podUid: undefined, uidFromId: undefined, hostNetwork: false,
          sandboxId: undefined, sandboxAtMs: 0, lastSandboxId: undefined, ifaces: new Map(), sorted: undefined, cycle: 0,
        }
        inNs.set(pod, st)
        this.#sorted = undefined
      }
      this.#last = st
    }
    if (st.cycle !== this.#cycle) {
      // the pod's first sample of this page
      st.cycle = this.#cycle
      if (r.podUid !== '') {
        st.podUid = detach(r.podUid)
        st.uidFromId = undefined
      } else if (st.uidFromId === undefined || st.uidFromId !== r.id) {
        const uid = podUidFromCgroup(r.id)
        st.podUid = uid === undefined ? undefined : detach(uid)
        st.uidFromId = detach(r.id)
      }
      st.hostNetwork = this.#hostNet?.has(st.key) === true
      if (st.sandboxId !== undefined) st.lastSandboxId = st.sandboxId
      st.sandboxId = undefined
      st.sandboxAtMs = 0
    }
    return st
  }

  /** Take one record (other families than the bytes pair are ignored). */
  add = (r: NetworkSeriesRecord): void => {
    const isRx = r.family === 'container_network_receive_bytes_total'
    if (!isRx && r.family !== 'container_network_transmit_bytes_total') return
    this.stats.records++
    if (r.id === '/') { this.stats.root++; return }
    if (!isSandboxSeries(r)) { this.stats.nonSandbox++; return }
    const st = this.#podState(r)
    if (st.hostNetwork) { this.stats.hostNetwork++; return }
    const sandboxId = r.name !== '' ? r.name : r.id
    const at = r.timestampMs ?? 0
    if (st.sandboxId === undefined) {
      st.sandboxId = sandboxId === st.lastSandboxId ? st.lastSandboxId : detach(sandboxId)
      st.sandboxAtMs = at
    } else if (st.sandboxId !== sandboxId) {
      // Two sandboxes of one pod on one page (the old one is being torn down): keep the newer.
      if (at <= st.sandboxAtMs) { this.stats.staleSandbox++; return }
      st.sandboxId = detach(sandboxId)
      st.sandboxAtMs = at
    } else if (at > st.sandboxAtMs) {
      st.sandboxAtMs = at
    }
    let acc = st.ifaces.get(r.interface)
    if (acc === undefined) {
      acc = { iface: detach(r.interface), sandboxId: st.sandboxId, rx: undefined, tx: undefined, atMs: undefined, cycle: this.#cycle }
      st.ifaces.set(acc.iface, acc)
      st.sorted = undefined
    } else if (acc.cycle !== this.#cycle || acc.sandboxId !== st.sandboxId) {
      // a new page, or a newer sandbox of the pod on this one: the interface starts afresh
      acc.sandboxId = st.sandboxId
      acc.rx = undefined
      acc.tx = undefined
      acc.atMs = undefined
      acc.cycle = this.#cycle
    }
    if (isRx) acc.rx = r.value; else acc.tx = r.value
    if (r.timestampMs !== undefined && (acc.atMs === undefined || r.timestampMs > acc.atMs)) acc.atMs = r.timestampMs
  }

  /**
   * The counters, sorted by namespace, pod, interface. `scrapedAtMs` stands in for samples
   * without their own timestamp.
   */
  result (scrapedAtMs: number): PodInterfaceCounters[] {
    const out: PodInterfaceCounters[] = []
    const cycle = this.#cycle
    const pods = this.#sorted ??= [...this.#pods.values()].flatMap((m) => [...m.values()]).sort((a, b) => cmp(a.namespace, b.namespace) || cmp(a.pod, b.pod))
    let dropped = false
    for (const st of pods) {
      if (st.cycle !== cycle) {
        // not on this page: gone
        const inNs = this.#pods.get(st.namespace)
        inNs?.delete(st.pod)
        if (inNs?.size === 0) this.#pods.delete(st.namespace)
        if (this.#last === st) this.#last = undefined
        dropped = true
        continue
      }
      const ifaces = st.sorted ??= [...st.ifaces.values()].sort((a, b) => cmp(a.iface, b.iface))
      for (const a of ifaces) {
        if (a.cycle !== cycle) { st.ifaces.delete(a.iface); st.sorted = undefined; continue }
        if (a.sandboxId !== st.sandboxId) { this.stats.staleSandbox++; continue }
        if (!validCounter(a.rx) || !validCounter(a.tx)) { this.stats.incomplete++; continue }
        const c: PodInterfaceCounters = {
          namespace: st.namespace, pod: st.pod, interface: a.iface, rxBytes: a.rx, txBytes: a.tx,
          atMs: a.atMs ?? scrapedAtMs, sandboxId: a.sandboxId,
        }
        if (st.podUid !== undefined) c.podUid = st.podUid
        out.push(c)
      }
    }
    if (dropped) this.#sorted = undefined
    return out
  }
}

function cmp (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function validCounter (v: number | undefined): v is number {
  return v !== undefined && Number.isFinite(v) && v >= 0
}

export function compareCounters (a: PodInterfaceCounters, b: PodInterfaceCounters): number {
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1
    : a.pod < b.pod ? -1 : a.pod > b.pod ? 1
      : a.interface < b.interface ? -1 : a.interface > b.interface ? 1 : 0
}

/** Convenience: aggregate an array of records in one go. */
export function podCountersFromRecords (records: Iterable<NetworkSeriesRecord>, scrapedAtMs: number, opts: PodCounterFilter = {}): PodInterfaceCounters[] {
  const agg = new PodCounterAggregator(opts)
  for (const r of records) agg.add(r)
  return agg.result(scrapedAtMs)
}
