/**
 * The PromQL of a Grafana dashboard, ready for a Prometheus HTTP API: every panel target's
 * `expr` with the dashboard variables and Grafana's interval macros substituted.
 * Used by the dashboard tests and by the dashboard-on-Prometheus proof.
 */
import { isObject } from '../../contract/json.js'

export interface DashboardQuery {
  /** the panel's title */
  panel: string
  /** the target's refId (A, B…) */
  refId: string
  /** the expression with every variable substituted */
  expr: string
  /** true for a target Grafana runs as an instant query */
  instant: boolean
}

/** A variable's value: a string, or several (a multi-value variable becomes an `a|b` regex). */
export type VariableValue = string | readonly string[]

/** Grafana's built-in interval macros, at values that suit a 15 s scrape interval. */
export const DEFAULT_MACROS: Readonly<Record<string, string>> = Object.freeze({
  __rate_interval: '1m', // ≥ 4 scrapes of 15 s
  __interval: '15s',
  __range: '1h',
  __range_s: '3600',
  __range_ms: '3600000',
})

interface Target { expr?: unknown, refId?: unknown, instant?: unknown, hide?: unknown }
interface Panel { title?: unknown, type?: unknown, targets?: unknown, panels?: unknown }
interface TemplateVariable { name?: unknown, includeAll?: unknown, allValue?: unknown, current?: { value?: unknown } }


/** Every panel of a dashboard, rows' nested panels included, in order. */
export function dashboardPanels (dashboard: unknown): Panel[] {
  if (!isObject(dashboard) || !Array.isArray(dashboard.panels)) throw new TypeError('not a Grafana dashboard: no "panels" list')
  const out: Panel[] = []
  const walk = (list: unknown[]): void => {
    for (const p of list) {
      if (!isObject(p)) continue
      out.push(p as Panel)
      if (Array.isArray(p.panels)) walk(p.panels)
    }
  }
  walk(dashboard.panels)
  return out
}

/** The dashboard's template variables by name. */
export function dashboardVariables (dashboard: unknown): Map<string, TemplateVariable> {
  const list = isObject(dashboard) && isObject(dashboard.templating) && Array.isArray(dashboard.templating.list) ? dashboard.templating.list : []
  const out = new Map<string, TemplateVariable>()
  for (const v of list) if (isObject(v) && typeof v.name === 'string') out.set(v.name, v as TemplateVariable)
  return out
}

// A variable's value when the caller gives none: the dashboard's saved current value
// (`$__all` becomes the allValue), else undefined.
function savedValue (v: TemplateVariable | undefined): VariableValue | undefined {
  const cur = v?.current?.value
  const values = Array.isArray(cur) ? cur.filter((x): x is string => typeof x === 'string') : typeof cur === 'string' ? [cur] : []
  if (values.length === 0) return undefined
  if (values.includes('$__all')) return typeof v?.allValue === 'string' ? v.allValue : undefined
  return values
}

/**
 * Substitutes `$name`, `${name}`, `${name:format}` and `[[name]]` in one expression.
 * Throws naming the variable when one has no value.
 */
export function substitute (expr: string, values: Readonly<Record<string, VariableValue>>, where = 'expression'): string {
  return expr.replace(/\$\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|\[\[([A-Za-z0-9_]+)\]\]|\$([A-Za-z0-9_]+)/g, (whole, a?: string, b?: string, c?: string) => {
    const name = a ?? b ?? c ?? ''
    const v = values[name]
    if (v === undefined) throw new Error(`${where}: variable $${name} has no value (give it in vars)`)
    return typeof v === 'string' ? v : v.length === 1 ? (v[0] ?? '') : `(${v.join('|')})`
  })
}

/**
 * Every query of the dashboard with variables substituted: `vars` first, then Grafana's
 * interval macros (DEFAULT_MACROS), then each variable's saved current value. Hidden
 * targets and targets without an expression are skipped.
 */
export function dashboardQueries (dashboard: unknown, vars: Readonly<Record<string, VariableValue>> = {}): DashboardQuery[] {
  const values: Record<string, VariableValue> = { ...DEFAULT_MACROS }
  for (const [name, v] of dashboardVariables(dashboard)) {
    const saved = savedValue(v)
    if (saved !== undefined) values[name] = saved
  }
  Object.assign(values, vars)
  const out: DashboardQuery[] = []
  for (const p of dashboardPanels(dashboard)) {
    if (!Array.isArray(p.targets)) continue
    const title = typeof p.title === 'string' ? p.title : '(untitled)'
    for (const t of p.targets as Target[]) {
      if (!isObject(t) || t.hide === true || typeof t.expr !== 'string' || t.expr.trim() === '') continue
      const refId = typeof t.refId === 'string' ? t.refId : '?'
      out.push({ panel: substitute(title, values, 'panel title'), refId, expr: substitute(t.expr, values, `panel "${title}" ${refId}`), instant: t.instant === true })
    }
  }
  return out
}

/**
 * A Prometheus scrape job for one agent that labels its series the way the shipped
 * ServiceMonitor does (every series gets `node`; honor_labels keeps the agent's own), so
 * the dashboard's `node=~"$node"` filters match the histograms and collector metrics too.
 */
export function scrapeJob (opts: { target: string, node: string, job?: string, intervalSeconds?: number }): Record<string, unknown> {
  return {
    job_name: opts.job ?? 'netrank',
    scrape_interval: `${opts.intervalSeconds ?? 15}s`,
    honor_labels: true,
    metrics_path: '/metrics',
    static_configs: [{ targets: [opts.target], labels: { node: opts.node } }],
  }
}
