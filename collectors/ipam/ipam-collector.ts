/**
 * The ipam collector: every `intervalMs`, for each plugin in the catalog, the used and
 * total addresses of its pool on this node → `ipUsed`, `ipCapacity`. Its conf (by name in
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
import type { AttachmentRecordsSource, RecordsView } from '../attachment-records-source.js'
import { readNetworkConfs } from './cni-confs.js'
import type { NetworkConf } from './cni-confs.js'
import { hostLocalCapacity, readHostLocalOccupancy } from './host-local-state.js'
import type { HostLocalIpamConf } from './host-local-state.js'
import type { KubeCache } from '../kube-watch.js'
import { whereaboutsOccupancy, whereaboutsRanges } from './whereabouts-pool.js'
import type { IpPoolObject, WhereaboutsIpamConf } from './whereabouts-pool.js'
import { whereaboutsRange } from './ip-range.js'
import type { KpiSample } from '../../contract/kpis.js'
import type { Collector, CollectorContext } from '../types.js'

export interface IpamCollectorOptions {
  plugins: readonly string[]
  confDir: string
  hostLocalDataDir: string
  intervalMs: number
  records?: AttachmentRecordsSource
  /** IPPools, when whereabouts is enabled */
  ipPools?: () => Promise<KubeCache<object>>
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

/** Capacity of a conf's range(s) for record counting: host-local's shape, then whereabouts'. */
function rangeCapacity (ipam: Record<string, unknown>): number | undefined {
  try {
    return hostLocalCapacity(ipam as HostLocalIpamConf)
  } catch { /* not host-local shaped */ }
  try {
    let total = 0
    for (const r of whereaboutsRanges(ipam as WhereaboutsIpamConf)) total += Number(whereaboutsRange(r).usable)
    return total
  } catch { /* no range at all */ }
  return undefined
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
        return { ...rep, source: 'host-local', used: occ.used, capacity: occ.capacity, detail: occ.missing ? `${occ.dir} (absent: nothing allocated yet)` : occ.dir }
      }
      if (type === 'whereabouts' && opts.ipPools !== undefined) {
        const cache = await opts.ipPools()
        if (!cache.synced) throw new Error(`IPPools not listed yet${cache.lastError !== undefined ? `: ${cache.lastError}` : ''}`)
        const occ = whereaboutsOccupancy(ipam as WhereaboutsIpamConf, cache.list() as IpPoolObject[])
        return { ...rep, source: 'whereabouts', used: occ.used, capacity: occ.capacity, detail: occ.ranges.map((r) => `${r.range}${r.poolMissing ? ' (no pool yet)' : ''}`).join(', ') }
      }
      if (view === undefined) throw new Error('attachment records are not configured')
      const used = view.attachments.filter((a) => a.network === plugin && HOLDING.has(a.state)).length
      const capacity = rangeCapacity(ipam)
      return {
        ...rep, source: 'attachment-records', used, capacity,
        detail: `${used} attachment record(s) of ${plugin} in ${opts.records?.stateDir ?? '?'}${capacity === undefined ? '; the conf gives no range, capacity unknown' : ''}`,
      }
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
    const atMs = ctx.now()
    const samples: KpiSample[] = []
    for (const r of plugins) {
      if (r.used !== undefined) samples.push({ plugin: r.plugin, kpi: 'ipUsed', value: r.used, atMs, source: name })
      if (r.capacity !== undefined) samples.push({ plugin: r.plugin, kpi: 'ipCapacity', value: r.capacity, atMs, source: name })
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
