/**
 * The ipam collector: every `intervalMs`, for each plugin in the catalog, the used and
 * total addresses of its pool on this node → `ipUsed`, `ipCapacity`; range by range, the
 * subnets it spans → `ipSubnets` and the addresses the next pods can still get (the
 * tightest range set's free addresses, pool-ranges.ts) → `ipFree`. Its conf (by name in
 * confDir) says how: host-local → the on-disk state (the conf's dataDir or
 * cni.hostLocalDataDir); whereabouts (when enabled) → the IPPool objects through an
 * informer; anything else → the shim's attachment records of that network counted
 * against the conf's range.
 *
 * The same cycle turns new attachment records into the events only they carry (each ADD's
 * duration, each shim fallback), when `recordEvents` is set.
 */
import { periodic } from '../collector-loop.js'
import { errorText } from '../collector-hooks.js'
import type { CollectorHooks } from '../collector-hooks.js'
import type { AttachmentRecordsSource, RecordedAttachment, RecordsView } from '../attachment-records-source.js'
import { readNetworkConfs } from './cni-confs.js'
import type { NetworkConf } from './cni-confs.js'
import { hostLocalRanges, readHostLocalOccupancy } from './host-local-state.js'
import type { HostLocalIpamConf } from './host-local-state.js'
import type { KubeCache } from '../kube-watch.js'
import { whereaboutsOccupancy, whereaboutsRanges } from './whereabouts-pool.js'
import type { IpPoolObject, WhereaboutsIpamConf } from './whereabouts-pool.js'
import { poolRanges, rangeOccupancy, rangeText } from './pool-ranges.js'
import type { RangeOccupancy } from './pool-ranges.js'
import { rangeContains, tryParseIp, whereaboutsRange } from './ip-range.js'
import type { AddressRange, Cidr } from './ip-range.js'
import type { KpiSample } from '../../contract/kpis.js'
import type { Collector, CollectorContext } from '../types.js'
import { sliceIpam } from '../../contract/logical-network.js'
import { cidrSpan } from './cidr-span.js'
import { validLogicalNetworks } from './logical-pools.js'
import type { IsolationCaches } from './logical-pools.js'

export interface IpamCollectorOptions {
  plugins: readonly string[]
  confDir: string
  hostLocalDataDir: string
  intervalMs: number
  records?: AttachmentRecordsSource
  /** IPPools, when whereabouts is enabled */
  ipPools?: () => Promise<KubeCache<object>>
  /** CNI-Genie's logical networks (docs/isolation.md): each valid one's slice of its plugin's pool, reported under its own name */
  logicalNetworks?: IsolationCaches
  /** count ADD durations and shim fallbacks from new records (one collector of the agent does) */
  recordEvents?: boolean
  hooks?: CollectorHooks
}

export type IpamSource = 'host-local' | 'whereabouts' | 'attachment-records'

/** One plugin's pool as the last cycle saw it. */
export interface IpamPluginReport {
  plugin: string
  source: IpamSource | undefined
  used: number | undefined
  capacity: number | undefined
  /** the conf file it came from */
  conf: string | undefined
  /** range by range (undefined when the conf gives no range) */
  ranges?: RangeOccupancy[]
  /** distinct subnets of the pool */
  subnets?: number
  /** addresses the next pods can still get: the tightest range set's free addresses */
  free?: number
  /** where the numbers were read (host-local dir, pools, records) */
  detail?: string
  error?: string
}

export interface IpamReport {
  atMs: number
  plugins: IpamPluginReport[]
}

export interface IpamCollector extends Collector {
  readonly lastReport: IpamReport | undefined
}

// Records that hold addresses: planned ones may not have any yet, cleanly deleted ones are gone.
const HOLDING: ReadonlySet<string> = new Set(['added', 'del-failed'])

/**
 * A conf's ranges for record counting (host-local's shape, then whereabouts'), each holding
 * the records whose first address lies in it; a set's records that name no address of it
 * (the first address is of another set, or none was reported) are still one address of that
 * set each, charged to its first range.
 */
function recordRanges (ipam: Record<string, unknown>, holding: readonly RecordedAttachment[]): RangeOccupancy[] | undefined {
  let ranges: Array<{ set: number, subnet: Cidr, range: AddressRange, usable: bigint }>
  try {
    ranges = hostLocalRanges(ipam as HostLocalIpamConf)
  } catch {
    try {
      ranges = whereaboutsRanges(ipam as WhereaboutsIpamConf).map((r, set) => ({ ...whereaboutsRange(r), set }))
    } catch {
      return undefined // no range at all
    }
  }
  const used = ranges.map(() => 0)
  const sets = new Set(ranges.map((r) => r.set))
  for (const a of holding) {
    const ip = a.ip !== undefined ? tryParseIp(a.ip) : undefined
    for (const set of sets) {
      const at = ranges.findIndex((r) => r.set === set && ip !== undefined && rangeContains(r.range, ip))
      const i = at >= 0 ? at : ranges.findIndex((r) => r.set === set)
      used[i] = (used[i] ?? 0) + 1
    }
  }
  return ranges.map((r, i) => rangeOccupancy(r.set, rangeText(r.subnet, r.range), used[i] ?? 0, Number(r.usable)))
}

function withRanges (rep: IpamPluginReport, ranges: RangeOccupancy[] | undefined): IpamPluginReport {
  if (ranges === undefined) return rep
  const p = poolRanges(ranges)
  return { ...rep, ranges, subnets: p.subnets, free: p.free }
}

/** Builds the ipam collector. */
export function createIpamCollector (opts: IpamCollectorOptions): IpamCollector {
  const name = 'ipam'
  let lastReport: IpamReport | undefined

  const one = async (plugin: string, conf: NetworkConf | undefined, view: RecordsView | undefined): Promise<IpamPluginReport> => {
    const rep: IpamPluginReport = { plugin, source: undefined, used: undefined, capacity: undefined, conf: conf?.file }
    if (conf === undefined) { rep.error = `no conf named '${plugin}' in ${opts.confDir}`; return rep }
    const ipam = conf.ipam
    if (ipam === undefined) { rep.error = `${conf.file} has no ipam section`; return rep }
    const type = typeof ipam.type === 'string' ? ipam.type : ''
    try {
      if (type === 'host-local') {
        const occ = await readHostLocalOccupancy(plugin, { ...(ipam as HostLocalIpamConf), dataDir: typeof ipam.dataDir === 'string' ? ipam.dataDir : opts.hostLocalDataDir })
        return withRanges({ ...rep, source: 'host-local', used: occ.used, capacity: occ.capacity, detail: occ.missing ? `${occ.dir} (absent: nothing allocated yet)` : occ.dir }, occ.ranges)
      }
      if (type === 'whereabouts' && opts.ipPools !== undefined) {
        const cache = await opts.ipPools()
        if (!cache.synced) throw new Error(`IPPools not listed yet${cache.lastError !== undefined ? `: ${cache.lastError}` : ''}`)
        const occ = whereaboutsOccupancy(ipam as WhereaboutsIpamConf, cache.list() as IpPoolObject[])
        return withRanges({ ...rep, source: 'whereabouts', used: occ.used, capacity: occ.capacity, detail: occ.ranges.map((r) => `${r.range}${r.poolMissing ? ' (no pool yet)' : ''}`).join(', ') }, occ.perRange)
      }
      if (view === undefined) throw new Error('attachment records are not configured')
      const holding = view.attachments.filter((a) => a.network === plugin && HOLDING.has(a.state))
      const used = holding.length
      const ranges = recordRanges(ipam, holding)
      // capacity as host-local and whereabouts count it: every range of every set
      const capacity = ranges?.reduce((n, r) => n + r.capacity, 0)
      return withRanges({
        ...rep, source: 'attachment-records', used, capacity,
        detail: `${used} attachment record(s) of ${plugin} in ${opts.records?.stateDir ?? '?'}${capacity === undefined ? '; the conf gives no range, capacity unknown' : ''}`,
      }, ranges)
    } catch (err) {
      return { ...rep, error: errorText(err) }
    }
  }

  const collectOnce = async (ctx: CollectorContext): Promise<void> => {
    let view: RecordsView | undefined
    if (opts.records !== undefined) {
      try {
        view = opts.records.read()
      } catch (err) {
        ctx.reportError(name, new Error(`cannot read attachment records in ${opts.records.stateDir}: ${errorText(err)}`))
      }
    }
    if (view !== undefined && opts.recordEvents === true) opts.records?.reportEvents(opts.hooks, view)
    let confs: Map<string, NetworkConf>
    try {
      const r = await readNetworkConfs(opts.confDir)
      confs = r.byName
      for (const p of r.problems) opts.hooks?.log?.warn({ collector: name, problem: p }, 'unreadable CNI conf skipped')
    } catch (err) {
      ctx.reportError(name, new Error(`cannot read the CNI confs in ${opts.confDir}: ${errorText(err)}`))
      return
    }
    const plugins = await Promise.all(opts.plugins.map(async (p) => await one(p, confs.get(p), view)))
    if (opts.logicalNetworks !== undefined) {
      try {
        for (const v of await validLogicalNetworks(opts.logicalNetworks, confs)) {
          const base = confs.get(v.plugin ?? '')
          if (base?.ipam === undefined || v.span === undefined || opts.plugins.includes(v.name)) continue
          const ipam = sliceIpam(base.ipam, v.span, cidrSpan)
          if (typeof ipam === 'string') continue // the shim refuses such a network (code 118)
          plugins.push(await one(v.name, { ...base, name: v.name, ipam }, view))
        }
      } catch (err) {
        ctx.reportError(name, new Error(`logical networks: ${errorText(err)}`))
      }
    }
    const atMs = ctx.now()
    const samples: KpiSample[] = []
    for (const r of plugins) {
      if (r.used !== undefined) samples.push({ plugin: r.plugin, kpi: 'ipUsed', value: r.used, atMs, source: name })
      if (r.capacity !== undefined) samples.push({ plugin: r.plugin, kpi: 'ipCapacity', value: r.capacity, atMs, source: name })
      if (r.subnets !== undefined) samples.push({ plugin: r.plugin, kpi: 'ipSubnets', value: r.subnets, atMs, source: name })
      if (r.free !== undefined) samples.push({ plugin: r.plugin, kpi: 'ipFree', value: r.free, atMs, source: name })
      if (r.ranges !== undefined) opts.hooks?.ipamRanges?.(r.plugin, r.ranges)
    }
    const rejected = samples.length > 0 ? ctx.emit(samples) : 0
    lastReport = { atMs, plugins }
    const failed = plugins.filter((r) => r.error !== undefined)
    if (failed.length > 0) ctx.reportError(name, new Error(failed.map((r) => `${r.plugin}: ${r.error ?? ''}`).join('; ')))
    else if (rejected > 0) ctx.reportError(name, new Error(`${rejected} IPAM sample(s) rejected by the store`))
    else ctx.reportSuccess(name, atMs)
  }

  const loop = periodic(name, opts.intervalMs, collectOnce)

  return {
    name,
    get lastReport () { return lastReport },
    collectOnce,
    start: loop.start,
    stop: loop.stop,
  }
}
