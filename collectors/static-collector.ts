/**
 * The static collector: operator-set KPI values (costs, overrides, examples) from
 * `collectors.static.kpis[]` and `plugins[].costPerGiB`, emitted with source 'static' every cycle.
 * The store treats them as overrides that never go stale.
 */
import type { Collector, CollectorContext } from './types.js'
import type { KpiName, KpiSample } from '../contract/kpis.js'

export interface StaticKpiValue {
  plugin: string
  kpi: KpiName
  value: number
}

export interface StaticCollectorOptions {
  kpis: readonly StaticKpiValue[]
  /** plugins' costPerGiB from the catalog; an explicit static `costPerGiB` entry wins */
  catalog?: ReadonlyArray<{ name: string, costPerGiB?: number }>
  /** re-emit period, ms */
  intervalMs: number
}

/** Builds the static collector; `start` emits at once, then every `intervalMs`. */
export function createStaticCollector (opts: StaticCollectorOptions): Collector {
  const values: StaticKpiValue[] = [...opts.kpis]
  for (const p of opts.catalog ?? []) {
    if (p.costPerGiB !== undefined && !values.some((v) => v.plugin === p.name && v.kpi === 'costPerGiB')) {
      values.push({ plugin: p.name, kpi: 'costPerGiB', value: p.costPerGiB })
    }
  }
  let timer: NodeJS.Timeout | undefined

  const collectOnce = async (ctx: CollectorContext): Promise<void> => {
    const atMs = ctx.now()
    const samples: KpiSample[] = values.map((v) => ({ plugin: v.plugin, kpi: v.kpi, value: v.value, atMs, source: 'static' }))
    const rejected = ctx.emit(samples)
    if (rejected > 0) {
      ctx.reportError('static', new Error(`${rejected} of ${samples.length} static KPI value(s) were rejected by the store`))
    } else {
      ctx.reportSuccess('static', atMs)
    }
  }

  return {
    name: 'static',
    collectOnce,
    start (ctx) {
      if (timer !== undefined) return
      const cycle = (): void => {
        collectOnce(ctx).catch((err: unknown) => ctx.reportError('static', err))
      }
      cycle()
      timer = setInterval(cycle, opts.intervalMs)
      timer.unref()
    },
    async stop () {
      if (timer !== undefined) clearInterval(timer)
      timer = undefined
    },
  }
}
