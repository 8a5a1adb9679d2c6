/**
 * A CRI client (runtime.v1) over the runtime's unix socket: the RPCs the lab's kubelet role
 * and the `cri` traffic source use, with @grpc/grpc-js and the proto subset beside this file
 * (runtime-v1.proto). Every call has a deadline; a failure becomes a {@link CriError} that
 * names the socket, the RPC and the runtime's own message.
 */
import { credentials, loadPackageDefinition, status as grpcStatus } from '@grpc/grpc-js'
import type { Client, ServiceError } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The proto beside this module (the build copies it next to the compiled file). */
export const CRI_PROTO = join(dirname(fileURLToPath(import.meta.url)), 'runtime-v1.proto')

export interface SandboxMetadata { name: string, namespace: string, uid: string, attempt?: number }

/** What RunPodSandbox is given: the kubelet's PodSandboxConfig, the parts netrank uses. */
export interface SandboxConfig {
  metadata: SandboxMetadata
  hostname?: string
  logDirectory?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  cgroupParent?: string
}

export type SandboxState = 'SANDBOX_READY' | 'SANDBOX_NOTREADY'

export interface SandboxSummary {
  id: string
  metadata: SandboxMetadata
  state: SandboxState
  createdAtNs: bigint
  labels: Record<string, string>
  annotations: Record<string, string>
}

export interface SandboxStatus extends SandboxSummary {
  /** the first IP (the runtime's pick from the CNI result) and the others */
  ip: string
  additionalIps: string[]
  /** verbose only: the runtime's extra JSON documents (containerd: `info`) */
  info: Record<string, string>
}

export interface InterfaceUsage { name: string, rxBytes?: bigint, txBytes?: bigint, rxErrors?: bigint, txErrors?: bigint }

/** One sandbox's network counters from ListPodSandboxStats. */
export interface SandboxNetworkStats {
  id: string
  metadata: SandboxMetadata
  labels: Record<string, string>
  /** when the runtime read the counters, ns since the epoch; undefined when it reported no network stats */
  timestampNs?: bigint
  /** the default interface (eth0) first, then the others */
  interfaces: InterfaceUsage[]
}

export interface RuntimeVersion { version: string, runtimeName: string, runtimeVersion: string, runtimeApiVersion: string }

/** A failed CRI call: which runtime, which RPC, and what it said. */
export class CriError extends Error {
  readonly rpc: string
  /** the gRPC status name: UNAVAILABLE, DEADLINE_EXCEEDED, NOT_FOUND, UNKNOWN … */
  readonly grpcCode: string
  constructor (socket: string, rpc: string, err: ServiceError | Error) {
    const code = 'code' in err && typeof err.code === 'number' ? (grpcStatus[err.code] ?? String(err.code)) : 'UNKNOWN'
    const details = 'details' in err && typeof err.details === 'string' && err.details !== '' ? err.details : err.message
    super(code === 'UNAVAILABLE'
      ? `the container runtime at ${socket} is not reachable (${rpc}): ${details}`
      : `${rpc} at ${socket} failed (${code}): ${details}`)
    this.name = 'CriError'
    this.rpc = rpc
    this.grpcCode = code
  }
}

export interface CriClientOptions {
  /** deadline of a call, ms (RunPodSandbox gets `runTimeoutMs`) */
  timeoutMs?: number
  /** RunPodSandbox and StopPodSandbox run CNI: the kubelet gives them 4 minutes */
  runTimeoutMs?: number
}

type Unary = (req: unknown, opts: { deadline: Date }, cb: (err: ServiceError | null, res: unknown) => void) => void
type RuntimeServiceCtor = new (target: string, creds: ReturnType<typeof credentials.createInsecure>, opts?: Record<string, unknown>) => Client & Record<string, Unary>

let ctor: RuntimeServiceCtor | undefined
function runtimeService (): RuntimeServiceCtor {
  if (ctor !== undefined) return ctor
  const def = loadSync(CRI_PROTO, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true })
  const pkg = loadPackageDefinition(def) as unknown as { runtime: { v1: { RuntimeService: RuntimeServiceCtor } } }
  ctor = pkg.runtime.v1.RuntimeService
  return ctor
}

interface WireMeta { name?: string, namespace?: string, uid?: string, attempt?: number }
const meta = (m: WireMeta | null | undefined): SandboxMetadata => ({ name: m?.name ?? '', namespace: m?.namespace ?? '', uid: m?.uid ?? '', attempt: m?.attempt ?? 0 })
const big = (v: unknown): bigint => (typeof v === 'string' && v !== '' ? BigInt(v) : 0n)
const u64 = (v: { value?: string } | null | undefined): bigint | undefined => (v === null || v === undefined ? undefined : big(v.value))

interface WireSandbox { id: string, metadata?: WireMeta, state: SandboxState, createdAt: string, labels: Record<string, string>, annotations: Record<string, string> }
function summary (w: WireSandbox): SandboxSummary {
  return { id: w.id, metadata: meta(w.metadata), state: w.state, createdAtNs: big(w.createdAt), labels: w.labels ?? {}, annotations: w.annotations ?? {} }
}

export class CriClient {
  readonly socket: string
  private readonly client: Client & Record<string, Unary>
  private readonly timeoutMs: number
  private readonly runTimeoutMs: number

  constructor (socketPath: string, o: CriClientOptions = {}) {
    this.socket = socketPath
    this.timeoutMs = o.timeoutMs ?? 10_000
    this.runTimeoutMs = o.runTimeoutMs ?? 240_000
    const Service = runtimeService()
    // grpc's own reconnect backoff would hide a runtime that is down behind the deadline: fail fast instead
    this.client = new Service(`unix://${socketPath}`, credentials.createInsecure(), { 'grpc.enable_retries': 0, 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 })
  }

  private async call<T> (rpc: string, req: unknown, timeoutMs = this.timeoutMs): Promise<T> {
    if (!existsSync(this.socket)) throw new CriError(this.socket, rpc, new Error('the socket does not exist (is the runtime running?)'))
    const fn = this.client[rpc]
    if (fn === undefined) throw new Error(`no CRI RPC ${rpc} in ${CRI_PROTO}`)
    return await new Promise<T>((resolve, reject) => {
      fn.call(this.client, req, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
        if (err !== null) reject(new CriError(this.socket, rpc, err))
        else resolve(res as T)
      })
    })
  }

  async version (): Promise<RuntimeVersion> {
    const r = await this.call<RuntimeVersion>('Version', { version: 'v1' })
    return { version: r.version, runtimeName: r.runtimeName, runtimeVersion: r.runtimeVersion, runtimeApiVersion: r.runtimeApiVersion }
  }

  /** RuntimeReady and NetworkReady, as the runtime reports them (NetworkReady false: no CNI conf yet) */
  async status (): Promise<Array<{ type: string, status: boolean, reason: string, message: string }>> {
    const r = await this.call<{ status?: { conditions?: Array<{ type: string, status: boolean, reason: string, message: string }> } }>('Status', { verbose: false })
    return r.status?.conditions ?? []
  }

  /** Creates the sandbox: the runtime makes its netns and runs CNI ADD. Resolves with its id. */
  async runPodSandbox (c: SandboxConfig): Promise<string> {
    const config = {
      metadata: { name: c.metadata.name, namespace: c.metadata.namespace, uid: c.metadata.uid, attempt: c.metadata.attempt ?? 0 },
      hostname: c.hostname ?? c.metadata.name,
      logDirectory: c.logDirectory ?? '',
      labels: c.labels ?? {},
      annotations: c.annotations ?? {},
      linux: { cgroupParent: c.cgroupParent ?? '', sysctls: {} },
    }
    const r = await this.call<{ podSandboxId: string }>('RunPodSandbox', { config, runtimeHandler: '' }, this.runTimeoutMs)
    return r.podSandboxId
  }

  /** Stops the sandbox: CNI DEL, the pause process killed. Idempotent in the runtime. */
  async stopPodSandbox (id: string): Promise<void> {
    await this.call('StopPodSandbox', { podSandboxId: id }, this.runTimeoutMs)
  }

  async removePodSandbox (id: string): Promise<void> {
    await this.call('RemovePodSandbox', { podSandboxId: id }, this.runTimeoutMs)
  }

  async podSandboxStatus (id: string, verbose = false): Promise<SandboxStatus> {
    const r = await this.call<{ status?: WireSandbox & { network?: { ip?: string, additionalIps?: Array<{ ip: string }> } }, info?: Record<string, string> }>('PodSandboxStatus', { podSandboxId: id, verbose })
    if (r.status === undefined || r.status === null) throw new CriError(this.socket, 'PodSandboxStatus', new Error(`no status for sandbox ${id}`))
    return {
      ...summary(r.status),
      ip: r.status.network?.ip ?? '',
      additionalIps: (r.status.network?.additionalIps ?? []).map((a) => a.ip),
      info: r.info ?? {},
    }
  }

  async listPodSandbox (labelSelector: Record<string, string> = {}): Promise<SandboxSummary[]> {
    const r = await this.call<{ items?: WireSandbox[] }>('ListPodSandbox', { filter: { labelSelector } })
    return (r.items ?? []).map(summary)
  }

  async listPodSandboxStats (labelSelector: Record<string, string> = {}): Promise<SandboxNetworkStats[]> {
    interface WireIf { name: string, rxBytes?: { value?: string }, txBytes?: { value?: string }, rxErrors?: { value?: string }, txErrors?: { value?: string } }
    interface WireStats { attributes?: { id: string, metadata?: WireMeta, labels?: Record<string, string> }, linux?: { network?: { timestamp: string, defaultInterface?: WireIf, interfaces?: WireIf[] } } }
    const r = await this.call<{ stats?: WireStats[] }>('ListPodSandboxStats', { filter: { labelSelector } })
    const iface = (w: WireIf): InterfaceUsage => {
      const u: InterfaceUsage = { name: w.name }
      const rx = u64(w.rxBytes); const tx = u64(w.txBytes); const rxe = u64(w.rxErrors); const txe = u64(w.txErrors)
      if (rx !== undefined) u.rxBytes = rx
      if (tx !== undefined) u.txBytes = tx
      if (rxe !== undefined) u.rxErrors = rxe
      if (txe !== undefined) u.txErrors = txe
      return u
    }
    return (r.stats ?? []).map((s) => {
      const net = s.linux?.network
      const ifaces: InterfaceUsage[] = []
      if (net?.defaultInterface !== undefined && net.defaultInterface !== null && net.defaultInterface.name !== '') ifaces.push(iface(net.defaultInterface))
      for (const i of net?.interfaces ?? []) ifaces.push(iface(i))
      const out: SandboxNetworkStats = { id: s.attributes?.id ?? '', metadata: meta(s.attributes?.metadata), labels: s.attributes?.labels ?? {}, interfaces: ifaces }
      if (net !== undefined && net !== null && big(net.timestamp) > 0n) out.timestampNs = big(net.timestamp)
      return out
    })
  }

  close (): void { this.client.close() }
}
