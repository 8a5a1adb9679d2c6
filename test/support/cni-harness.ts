// Test harness for the netrank-cni shim with real plugins: the shim bundle built once per
// test process (scripts/build-shim.mjs --bundle-only into a temp dir), a stage per test
// (temp confDir, stateDir, host-local dataDir, log file, CNI_PATH with the real plugins),
// delegate networks on unique nr-prefixed bridges with random 10.x.y.0/24 subnets, a shim
// runner that execs it the way a runtime does, and a tiny stand-in for the agent's /v1/select.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeCniPath, tempDir, uniqueName, type TestLike } from './netns.js'
import { freePort } from './free-port.js'

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

let built: { dir: string, bundle: string, exe?: string } | undefined

/** Builds the shim once per test process; `withExe` also builds the single executable (a few seconds). */
export function buildShim (opts: { withExe?: boolean } = {}): { bundle: string, exe?: string } {
  if (built !== undefined && (opts.withExe !== true || built.exe !== undefined)) return built
  const dir = built?.dir ?? mkdtempSync(join(tmpdir(), 'nr-shim-build-'))
  if (built === undefined) process.on('exit', () => rmSync(dir, { recursive: true, force: true }))
  const args = [join(root, 'scripts', 'build-shim.mjs'), '--out', dir]
  if (opts.withExe !== true) args.push('--bundle-only')
  execFileSync(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
  built = { dir, bundle: join(dir, 'cni', 'netrank-cni.cjs'), ...(opts.withExe === true ? { exe: join(dir, 'bin', 'netrank-cni') } : {}) }
  return built
}

/** What one shim run produced. */
export interface ShimRun { code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string, json: Record<string, unknown> | undefined, ms: number }

/** A delegate network written into the stage's confDir. */
export interface TestNetwork { name: string, subnet: string, bridge?: string, file: string }

/** Options of one shim run. */
export interface RunOptions {
  containerId: string
  netns?: string
  ifname?: string
  /** extra CNI_ARGS pairs (K8S_POD_*…); IgnoreUnknown=1 is always sent */
  args?: Record<string, string>
  /** fields merged into the shim conf */
  conf?: Record<string, unknown>
  /** raw stdin instead of the conf */
  stdin?: string
  /** env overrides; a value of undefined removes the variable */
  env?: Record<string, string | undefined>
  /** called with the child right after spawn (the SIGKILL test) */
  onSpawn?: (child: ChildProcess) => void
}

/** A random 10.x.y.0/24 so parallel test files do not collide. */
export function randomSubnet (): string {
  return `10.${randomInt(100, 200)}.${randomInt(0, 250)}.0/24`
}

/** A per-test stage: directories, delegate confs and a runner. Everything is removed at teardown. */
export class Stage {
  readonly dir: string
  readonly confDir: string
  readonly stateDir: string
  readonly dataDir: string
  readonly logFile: string
  readonly cniPath: string
  readonly shim: string
  readonly bridges: string[] = []

  constructor (t: TestLike, opts: { shim?: string } = {}) {
    this.shim = opts.shim ?? buildShim().bundle
    this.dir = tempDir(t, 'nr-cni-stage')
    this.confDir = join(this.dir, 'net.d')
    this.stateDir = join(this.dir, 'state')
    this.dataDir = join(this.dir, 'ipam')
    this.logFile = join(this.dir, 'log', 'cni.log')
    mkdirSync(this.confDir, { recursive: true })
    this.cniPath = makeCniPath(t, { shim: this.shim })
    t.teardown(() => {
      for (const b of this.bridges) {
        if (existsSync(`/sys/class/net/${b}`)) { try { execFileSync('ip', ['link', 'delete', b], { stdio: 'ignore' }) } catch { /* gone */ } }
      }
    })
  }

  /** The shim conf (docs/contract.md#shim-conf) pointing at this stage. */
  shimConf (extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      cniVersion: '1.0.0',
      name: 'netrank',
      type: 'netrank-cni',
      confDir: this.confDir,
      stateDir: this.stateDir,
      logFile: this.logFile,
      logLevel: 'debug',
      ...extra,
    }
  }

  /** Writes a conf file into confDir. */
  writeConf (file: string, obj: unknown): string {
    const p = join(this.confDir, file)
    writeFileSync(p, typeof obj === 'string' ? obj : JSON.stringify(obj, null, 2))
    return p
  }

  /** A bridge + host-local network (its own nr-prefixed bridge, a random /24). */
  addBridgeNetwork (name: string, opts: { cniVersion?: string, extraPlugins?: Array<Record<string, unknown>>, file?: string, subnet?: string } = {}): TestNetwork {
    const bridge = uniqueName('nrb')
    this.bridges.push(bridge)
    const subnet = opts.subnet ?? randomSubnet()
    const bridgePlugin = { type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', subnet, dataDir: this.dataDir, routes: [{ dst: '0.0.0.0/0' }] } }
    const conf = { cniVersion: opts.cniVersion ?? '1.0.0', name, plugins: [bridgePlugin, ...(opts.extraPlugins ?? [])] }
    const file = this.writeConf(opts.file ?? `10-${name}.conflist`, conf)
    return { name, subnet, bridge, file }
  }

  /** A ptp + host-local network as a single-plugin .conf. */
  addPtpNetwork (name: string, opts: { cniVersion?: string } = {}): TestNetwork {
    const subnet = randomSubnet()
    const conf = { cniVersion: opts.cniVersion ?? '1.0.0', name, type: 'ptp', ipam: { type: 'host-local', subnet, dataDir: this.dataDir } }
    const file = this.writeConf(`20-${name}.conf`, conf)
    return { name, subnet, file }
  }

  /** Writes an executable shell-script plugin into this stage's CNI_PATH. */
  addScriptPlugin (type: string, script: string): void {
    writeFileSync(join(this.cniPath, type), `#!/bin/sh\n${script}\n`, { mode: 0o755 })
  }

  /** Runs the shim once as a runtime would: exec from CNI_PATH, conf on stdin, CNI_* in env. */
  async run (command: string, o: RunOptions): Promise<ShimRun> {
    const args = { IgnoreUnknown: '1', ...(o.args ?? {}) }
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: o.containerId,
      CNI_NETNS: o.netns ?? '',
      CNI_IFNAME: o.ifname ?? 'eth0',
      CNI_PATH: this.cniPath,
      CNI_ARGS: Object.entries(args).map(([k, v]) => `${k}=${v}`).join(';'),
    }
    for (const [k, v] of Object.entries(o.env ?? {})) {
      if (v === undefined) Reflect.deleteProperty(env, k)
      else env[k] = v
    }
    const stdin = o.stdin ?? JSON.stringify(this.shimConf(o.conf))
    return await runBinary(join(this.cniPath, 'netrank-cni'), env, stdin, o.onSpawn)
  }

  /** The log lines the shim wrote (parsed). */
  logLines (): Array<Record<string, unknown>> {
    if (!existsSync(this.logFile)) return []
    return readFileSync(this.logFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
  }
}

/** Execs `binary` with `env` and `stdin`; resolves with its output, never rejects on failure. */
export function runBinary (binary: string, env: Record<string, string>, stdin: string, onSpawn?: (c: ChildProcess) => void): Promise<ShimRun> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', reject)
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8')
      let json: Record<string, unknown> | undefined
      try { json = JSON.parse(stdout) as Record<string, unknown> } catch { json = undefined }
      resolve({ code, signal, stdout, stderr: Buffer.concat(err).toString('utf8'), json, ms: performance.now() - started })
    })
    child.stdin.on('error', () => {})
    child.stdin.end(stdin)
    onSpawn?.(child)
  })
}

/** How the agent stand-in answers /v1/select. */
export type AgentMode = { kind: 'ok', plugins: string[], decisionId?: string } | { kind: 'slow', delayMs: number } | { kind: 'garbage', body: string } | { kind: 'error', status: number }

/** A tiny stand-in for the netrank agent's POST /v1/select on loopback. */
export interface AgentStandIn { url: string, requests: Array<{ method: string, path: string, body: unknown }>, mode: AgentMode, close: () => Promise<void> }

async function readJson (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  try { return JSON.parse(Buffer.concat(chunks).toString('utf8')) } catch { return undefined }
}

/** Starts the agent stand-in; closed at teardown. */
export async function startAgent (t: TestLike, mode: AgentMode): Promise<AgentStandIn> {
  const state: AgentStandIn = { url: '', requests: [], mode, close: async () => {} }
  const timers = new Set<NodeJS.Timeout>()
  const server: Server = createServer((req, res) => {
    void readJson(req).then((body) => {
      state.requests.push({ method: req.method ?? '', path: req.url ?? '', body })
      const m = state.mode
      if (m.kind === 'ok') {
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ plugins: m.plugins, reason: 'smart', decisionId: m.decisionId ?? 'dec-1' }))
      } else if (m.kind === 'slow') {
        const timer = setTimeout(() => { timers.delete(timer); res.end('{}') }, m.delayMs)
        timers.add(timer)
      } else if (m.kind === 'garbage') {
        res.writeHead(200, { 'Content-Type': 'application/json' })
        res.end(m.body)
      } else {
        res.writeHead(m.status, { 'Content-Type': 'application/json' })
        res.end(JSON.stringify({ error: { code: 'X', message: 'stand-in error' } }))
      }
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  state.close = async () => {
    for (const timer of timers) clearTimeout(timer)
    server.closeAllConnections()
    await new Promise<void>((r) => server.close(() => r()))
  }
  t.teardown(() => state.close())
  return state
}

/** A loopback URL nobody listens on (bound, then closed). */
export async function closedPortUrl (): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`
}
