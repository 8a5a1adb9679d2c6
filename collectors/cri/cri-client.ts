/**
 * A CRI client (runtime.v1) over the runtime's unix socket: the RPCs the lab's kubelet role
 * and the `cri` traffic source use, and the container RPCs (and ImageStatus) with which the
 * image test runs netrank's own images, with @grpc/grpc-js and the proto subset beside this file
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

/** A container to create in a sandbox: the parts of the kubelet's ContainerConfig netrank sets. */
export interface ContainerSpec {
  name: string
  attempt?: number
  /** an image reference the runtime has (name:tag, name@sha256:…, or the image id) */
  image: string
  /** replaces the image's Entrypoint (empty: the image's) */
  command?: string[]
  /** replaces the image's Cmd */
  args?: string[]
  workingDir?: string
  env?: Record<string, string>
  mounts?: Array<{ containerPath: string, hostPath: string, readonly?: boolean }>
  labels?: Record<string, string>
  annotations?: Record<string, string>
  /** relative to the sandbox's logDirectory (the runtime writes stdout/stderr there) */
  logPath?: string
  runAsUser?: number
  runAsGroup?: number
  readonlyRootfs?: boolean
}

export type ContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN'

export interface ContainerStatus {
  id: string
  name: string
  attempt: number
  state: ContainerState
  createdAtNs: bigint
  /** 0n: not started / not finished */
  startedAtNs: bigint
  finishedAtNs: bigint
  exitCode: number
  image: string
  /** the image's digested reference (containerd: the image id, sha256:… of the config) */
  imageRef: string
  reason: string
  message: string
  labels: Record<string, string>
  annotations: Record<string, string>
  logPath: string
  /** verbose only: the runtime's extra JSON documents (containerd: `info`, with the pid) */
  info: Record<string, string>
}

export interface ImageInfo {
  id: string
  repoTags: string[]
  repoDigests: string[]
  size: bigint
  /** the image config's numeric user, when it names one */
  uid?: bigint
  username: string
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
type ServiceCtor = new (target: string, creds: ReturnType<typeof credentials.createInsecure>, opts?: Record<string, unknown>) => Client & Record<string, Unary>

let ctors: { RuntimeService: ServiceCtor, ImageService: ServiceCtor } | undefined
function services (): { RuntimeService: ServiceCtor, ImageService: ServiceCtor } {
  if (ctors !== undefined) return ctors
  const def = loadSync(CRI_PROTO, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true })
  const pkg = loadPackageDefinition(def) as unknown as { runtime: { v1: { RuntimeService: ServiceCtor, ImageService: ServiceCtor } } }
  ctors = { RuntimeService: pkg.runtime.v1.RuntimeService, ImageService: pkg.runtime.v1.ImageService }
  return ctors
}

/** The wire PodSandboxConfig (RunPodSandbox, and CreateContainer's sandbox_config). */
function sandboxConfigWire (c: SandboxConfig): Record<string, unknown> {
  return {
    metadata: { name: c.metadata.name, namespace: c.metadata.namespace, uid: c.metadata.uid, attempt: c.metadata.attempt ?? 0 },
    hostname: c.hostname ?? c.metadata.name,
    logDirectory: c.logDirectory ?? '',
    labels: c.labels ?? {},
    annotations: c.annotations ?? {},
    linux: { cgroupParent: c.cgroupParent ?? '', sysctls: {} },
  }
}

/** The wire ContainerConfig. */
function containerConfigWire (c: ContainerSpec): Record<string, unknown> {
  const security: Record<string, unknown> = { readonlyRootfs: c.readonlyRootfs ?? false }
  if (c.runAsUser !== undefined) security.runAsUser = { value: String(c.runAsUser) }
  if (c.runAsGroup !== undefined) security.runAsGroup = { value: String(c.runAsGroup) }
  return {
    metadata: { name: c.name, attempt: c.attempt ?? 0 },
    image: { image: c.image, annotations: {} },
    command: c.command ?? [],
    args: c.args ?? [],
    workingDir: c.workingDir ?? '',
    envs: Object.entries(c.env ?? {}).map(([key, value]) => ({ key, value })),
    mounts: (c.mounts ?? []).map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readonly ?? false, selinuxRelabel: false, propagation: 'PROPAGATION_PRIVATE' })),
    labels: c.labels ?? {},
    annotations: c.annotations ?? {},
    logPath: c.logPath ?? '',
    linux: { securityContext: security },
  }
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
  private images: (Client & Record<string, Unary>) | undefined
  private readonly timeoutMs: number
  private readonly runTimeoutMs: number

  constructor (socketPath: string, o: CriClientOptions = {}) {
    this.socket = socketPath
    this.timeoutMs = o.timeoutMs ?? 10_000
    this.runTimeoutMs = o.runTimeoutMs ?? 240_000
    this.client = new (services().RuntimeService)(`unix://${socketPath}`, credentials.createInsecure(), CriClient.channelOptions)
  }

  // grpc's own reconnect backoff would hide a runtime that is down behind the deadline: fail fast instead
  private static readonly channelOptions = { 'grpc.enable_retries': 0, 'grpc.initial_reconnect_backoff_ms': 100, 'grpc.max_reconnect_backoff_ms': 1000 }

  /** The ImageService client on the same socket, made on first use. */
  private imageClient (): Client & Record<string, Unary> {
    this.images ??= new (services().ImageService)(`unix://${this.socket}`, credentials.createInsecure(), CriClient.channelOptions)
    return this.images
  }

  private async call<T> (rpc: string, req: unknown, timeoutMs = this.timeoutMs, client = this.client): Promise<T> {
    if (!existsSync(this.socket)) throw new CriError(this.socket, rpc, new Error('the socket does not exist (is the runtime running?)'))
    const fn = client[rpc]
    if (fn === undefined) throw new Error(`no CRI RPC ${rpc} in ${CRI_PROTO}`)
    return await new Promise<T>((resolve, reject) => {
      fn.call(client, req, { deadline: new Date(Date.now() + timeoutMs) }, (err, res) => {
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
    const r = await this.call<{ podSandboxId: string }>('RunPodSandbox', { config: sandboxConfigWire(c), runtimeHandler: '' }, this.runTimeoutMs)
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

  /** Creates a container in a sandbox (the sandbox's own config again, as the kubelet sends it). Resolves with its id. */
  async createContainer (sandboxId: string, sandbox: SandboxConfig, c: ContainerSpec): Promise<string> {
    const r = await this.call<{ containerId: string }>('CreateContainer', { podSandboxId: sandboxId, config: containerConfigWire(c), sandboxConfig: sandboxConfigWire(sandbox) }, this.runTimeoutMs)
    return r.containerId
  }

  async startContainer (id: string): Promise<void> {
    await this.call('StartContainer', { containerId: id }, this.runTimeoutMs)
  }

  /** SIGTERM (the image's stop signal), SIGKILL after `timeoutSeconds` (0: at once). */
  async stopContainer (id: string, timeoutSeconds = 0): Promise<void> {
    await this.call('StopContainer', { containerId: id, timeout: String(timeoutSeconds) }, this.runTimeoutMs + timeoutSeconds * 1000)
  }

  async removeContainer (id: string): Promise<void> {
    await this.call('RemoveContainer', { containerId: id }, this.runTimeoutMs)
  }

  async containerStatus (id: string, verbose = false): Promise<ContainerStatus> {
    interface Wire { id: string, metadata?: { name?: string, attempt?: number }, state: ContainerState, createdAt: string, startedAt: string, finishedAt: string, exitCode: number, image?: { image?: string }, imageRef: string, reason: string, message: string, labels?: Record<string, string>, annotations?: Record<string, string>, logPath: string }
    const r = await this.call<{ status?: Wire | null, info?: Record<string, string> }>('ContainerStatus', { containerId: id, verbose })
    const s = r.status
    if (s === undefined || s === null) throw new CriError(this.socket, 'ContainerStatus', new Error(`no status for container ${id}`))
    return {
      id: s.id,
      name: s.metadata?.name ?? '',
      attempt: s.metadata?.attempt ?? 0,
      state: s.state,
      createdAtNs: big(s.createdAt),
      startedAtNs: big(s.startedAt),
      finishedAtNs: big(s.finishedAt),
      exitCode: s.exitCode,
      image: s.image?.image ?? '',
      imageRef: s.imageRef,
      reason: s.reason,
      message: s.message,
      labels: s.labels ?? {},
      annotations: s.annotations ?? {},
      logPath: s.logPath,
      info: r.info ?? {},
    }
  }

  /** ImageService.ImageStatus: the image as the runtime has it, or undefined when it has none by that reference. */
  async imageStatus (image: string): Promise<ImageInfo | undefined> {
    interface Wire { id: string, repoTags?: string[], repoDigests?: string[], size: string, uid?: { value?: string } | null, username: string }
    const r = await this.call<{ image?: Wire | null }>('ImageStatus', { image: { image, annotations: {} }, verbose: false }, this.timeoutMs, this.imageClient())
    const i = r.image
    if (i === undefined || i === null) return undefined
    const out: ImageInfo = { id: i.id, repoTags: i.repoTags ?? [], repoDigests: i.repoDigests ?? [], size: big(i.size), username: i.username }
    const uid = u64(i.uid)
    if (uid !== undefined) out.uid = uid
    return out
  }

  close (): void {
    this.client.close()
    this.images?.close()
  }
}
