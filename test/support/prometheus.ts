// A real Prometheus (Debian's `prometheus` package) for tests: started on 127.0.0.1 at a
// free port with its own temp TSDB and a generated config, waited on until /-/ready, queried
// through the HTTP API, and stopped by pid. It runs under `setpriv --pdeathsig SIGKILL` when
// util-linux has it, so even a test process killed by tap's timeout leaves no Prometheus behind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { freePort } from './free-port.js'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { setTimeout as sleep } from 'node:timers/promises'

const PROMETHEUS_DEFAULTS = Object.freeze({
  binary: 'prometheus',
  host: '127.0.0.1',
  scrapeIntervalSeconds: 1, // 1 s: tests wait for data, so scrape often
  readyTimeoutMs: 30_000, // 30 s: TSDB start and WAL replay on a loaded 2-core machine
  pollIntervalMs: 250, // 0.25 s between readiness polls
  stopGraceMs: 5_000, // 5 s after SIGTERM, then SIGKILL
  queryTimeoutMs: 10_000, // 10 s per HTTP API call
  portAttempts: 3, // a free port can be taken between probing it and Prometheus binding it
  logTailLines: 20,
})

/** One series of an instant vector, or the one value of a scalar, as the HTTP API returns it. */
export interface PromSample {
  metric: Record<string, string>
  /** [unix seconds, value as text ("NaN", "+Inf" included)] */
  value: [number, string]
}

/** What `/api/v1/query` answered, flattened: samples for vectors and scalars, or an error. */
export interface PromQueryResult {
  /** "success" or "error" */
  status: string
  resultType?: string
  samples: PromSample[]
  error?: string
  errorType?: string
  warnings?: string[]
}

/** A running Prometheus made by {@link startPrometheus}. */
export interface PrometheusServer {
  /** http://127.0.0.1:<port> */
  url: string
  pid: number
  /** the working dir: prometheus.yml, data/ (TSDB) and prometheus.log */
  dir: string
  /** runs an instant query (`time` in unix seconds, default now); never throws on a PromQL error, only on transport failures */
  query: (expr: string, time?: number) => Promise<PromQueryResult>
  /** the last lines of Prometheus' own log, for failure messages */
  logTail: (lines?: number) => string
  /** SIGTERM by pid, SIGKILL after a grace period, then removes the dir; idempotent */
  stop: () => Promise<void>
}

/** Why Prometheus cannot run here (not installed), or undefined when it can. */
export function prometheusMissing (binary = PROMETHEUS_DEFAULTS.binary): string | undefined {
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8' })
  if (r.error !== undefined || r.status !== 0) return `${binary} is not installed (Debian package \`prometheus\`; CI installs it)`
  return undefined
}

/** The Prometheus config for `scrapeConfigs`, with a global scrape and evaluation interval of `intervalSeconds`. */
export function prometheusConfig (scrapeConfigs: ReadonlyArray<Record<string, unknown>>, intervalSeconds: number = PROMETHEUS_DEFAULTS.scrapeIntervalSeconds): string {
  if (!(intervalSeconds > 0)) throw new RangeError(`scrape interval must be > 0 seconds, got ${String(intervalSeconds)}`)
  if (scrapeConfigs.length === 0) throw new Error('a Prometheus for tests needs at least one scrape config')
  return stringify({
    global: { scrape_interval: `${intervalSeconds}s`, evaluation_interval: `${intervalSeconds}s`, scrape_timeout: `${intervalSeconds}s` },
    scrape_configs: scrapeConfigs,
  })
}



function hasPdeathsig (): boolean {
  const r = spawnSync('setpriv', ['--help'], { encoding: 'utf8' })
  return r.status === 0 && r.stdout.includes('--pdeathsig')
}

async function waitExit (child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return true
  return await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => { child.off('exit', onExit); resolve(false) }, ms)
    const onExit = (): void => { clearTimeout(timer); resolve(true) }
    child.once('exit', onExit)
  })
}

/**
 * Starts Prometheus on 127.0.0.1 at a free port, scraping `scrapeConfigs` (e.g. `scrapeJob(...)`
 * from dashboard-queries.ts), and resolves once `/-/ready` answers 200. On any failure the
 * process is stopped and the error carries the tail of its log.
 */
export async function startPrometheus (opts: {
  scrapeConfigs: ReadonlyArray<Record<string, unknown>>
  intervalSeconds?: number
  binary?: string
  readyTimeoutMs?: number
}): Promise<PrometheusServer> {
  const d = PROMETHEUS_DEFAULTS
  const config = prometheusConfig(opts.scrapeConfigs, opts.intervalSeconds ?? d.scrapeIntervalSeconds)
  const dir = mkdtempSync(join(tmpdir(), 'nr-prometheus-'))
  const configFile = join(dir, 'prometheus.yml')
  const logFile = join(dir, 'prometheus.log')
  writeFileSync(configFile, config)
  const logTail = (lines: number = d.logTailLines): string => {
    try { return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') } catch { return '(no log)' }
  }
  const pdeathsig = hasPdeathsig()
  let lastError: Error | undefined

  for (let attempt = 1; attempt <= d.portAttempts; attempt++) {
    const port = await freePort(d.host)
    const url = `http://${d.host}:${port}`
    const args = [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=${d.host}:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=info',
    ]
    const binary = opts.binary ?? d.binary
    const [cmd, argv] = pdeathsig ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', binary, ...args]] : [binary, args]
    const fd = openSync(logFile, 'a')
    let child: ChildProcess
    try {
      // setpriv execs Prometheus in place, so child.pid is Prometheus' own pid
      child = spawn(cmd, argv, { stdio: ['ignore', fd, fd], cwd: dir })
    } finally {
      closeSync(fd)
    }
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve))
    let stopped = false
    const stop = async (): Promise<void> => {
      if (!stopped) {
        stopped = true
        if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
          process.kill(child.pid, 'SIGTERM')
          if (!await waitExit(child, d.stopGraceMs) && child.pid !== undefined) {
            process.kill(child.pid, 'SIGKILL')
            await waitExit(child, d.stopGraceMs)
          }
        }
      }
      rmSync(dir, { recursive: true, force: true })
    }

    const deadline = Date.now() + (opts.readyTimeoutMs ?? d.readyTimeoutMs)
    let ready = false
    while (!ready && Date.now() < deadline && child.exitCode === null && child.signalCode === null) {
      try {
        const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(d.queryTimeoutMs) })
        ready = res.status === 200
        await res.body?.cancel()
      } catch { /* not listening yet */ }
      if (!ready) await Promise.race([sleep(d.pollIntervalMs), spawnError])
    }
    if (ready && child.pid !== undefined) {
      const pid = child.pid
      return {
        url,
        pid,
        dir,
        logTail,
        stop,
        query: async (expr: string, time?: number) => await instantQuery(url, expr, time),
      }
    }
    const exited = child.exitCode !== null || child.signalCode !== null
    const tail = logTail()
    // keep the log for the error message, then stop this attempt without removing the dir
    stopped = true
    if (!exited && child.pid !== undefined) {
      process.kill(child.pid, 'SIGKILL')
      await waitExit(child, d.stopGraceMs)
    }
    lastError = new Error(exited
      ? `prometheus exited (code ${String(child.exitCode)}, signal ${String(child.signalCode)}) before it was ready on ${url}; its log:\n${tail}`
      : `prometheus was not ready on ${url} within ${String(opts.readyTimeoutMs ?? d.readyTimeoutMs)} ms; its log:\n${tail}`)
    // only a lost race for the port is worth another attempt
    if (!/address already in use/.test(tail)) break
  }
  rmSync(dir, { recursive: true, force: true })
  throw lastError ?? new Error('prometheus did not start')
}

/** One instant query through `/api/v1/query` (POST, form-encoded, so long expressions fit). */
export async function instantQuery (url: string, expr: string, time?: number): Promise<PromQueryResult> {
  const body = new URLSearchParams({ query: expr })
  if (time !== undefined) body.set('time', String(time))
  const res = await fetch(`${url}/api/v1/query`, { method: 'POST', body, signal: AbortSignal.timeout(PROMETHEUS_DEFAULTS.queryTimeoutMs) })
  const text = await res.text()
  let json: { status?: string, data?: { resultType?: string, result?: unknown }, error?: string, errorType?: string, warnings?: string[] }
  try {
    json = JSON.parse(text) as typeof json
  } catch {
    return { status: 'error', samples: [], error: `HTTP ${res.status}, not JSON: ${text.slice(0, 200)}` }
  }
  const out: PromQueryResult = { status: json.status ?? 'error', samples: [] }
  if (json.error !== undefined) out.error = json.error
  if (json.errorType !== undefined) out.errorType = json.errorType
  if (json.warnings !== undefined) out.warnings = json.warnings
  const data = json.data
  if (data?.resultType !== undefined) {
    out.resultType = data.resultType
    if (data.resultType === 'vector' && Array.isArray(data.result)) out.samples = data.result as PromSample[]
    // a scalar is [t, "v"]: one sample without labels
    else if (data.resultType === 'scalar' && Array.isArray(data.result)) out.samples = [{ metric: {}, value: data.result as [number, string] }]
    else if (data.resultType === 'matrix' && Array.isArray(data.result)) {
      // a range-vector selector as the whole expression: report each series' last point
      for (const s of data.result as Array<{ metric: Record<string, string>, values: Array<[number, string]> }>) {
        const last = s.values.at(-1)
        if (last !== undefined) out.samples.push({ metric: s.metric, value: last })
      }
    }
  }
  return out
}
