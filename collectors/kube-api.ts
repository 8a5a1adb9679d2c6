/**
 * Direct Kubernetes API calls of the agent (a pod the informer has not seen yet, a NAD, the
 * status patch the shim hands over), over ONE kept-alive connection: @kubernetes/client-node
 * resolves the kubeconfig (CA, client certificate, token, token file refresh) and node-fetch
 * sends; the library's own agent closes its connection after every request, so the TLS
 * material it resolved is put into a keep-alive agent of ours, built once. Headers (the
 * token) are resolved again for every request: a rotated service-account token is used.
 */
import type { KubeConfig } from '@kubernetes/client-node'
import type { Agent as HttpAgent } from 'node:http'

/** The largest answer read (4 MiB: a pod is kilobytes; the API's own object limit is 1.5 MiB). */
export const KUBE_API_MAX_BYTES = 4 * 1024 * 1024

/** A request the API answered with a status we do not treat as data. */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError'
  readonly status: number
  constructor (status: number, message: string) {
    super(message)
    this.status = status
  }
}

interface TlsMaterial { ca?: unknown, cert?: unknown, key?: unknown, rejectUnauthorized?: boolean, servername?: string }

export class KubeApi {
  readonly #kc: KubeConfig
  #agent: HttpAgent | undefined
  readonly #timeoutMs: number

  constructor (kc: KubeConfig, opts: { timeoutMs?: number } = {}) {
    this.#kc = kc
    this.#timeoutMs = opts.timeoutMs ?? 5_000
  }

  async #init (): Promise<{ agent: HttpAgent, headers: Record<string, string> }> {
    const opts: TlsMaterial & { headers?: Record<string, string>, agent?: HttpAgent } = {}
    await this.#kc.applyToHTTPSOptions(opts as never)
    const headers: Record<string, string> = {}
    for (const [k, v] of Object.entries(opts.headers ?? {})) if (typeof v === 'string') headers[k] = v
    const cluster = this.#kc.getCurrentCluster()
    if (this.#agent === undefined) {
      if (cluster?.proxyUrl !== undefined || opts.agent === undefined) {
        // a proxy agent (or none) as the library built it: no connection reuse of ours
        if (opts.agent === undefined) throw new Error('kubernetes: no HTTP agent for the current cluster')
        return { agent: opts.agent, headers }
      }
      const https = await import('node:https')
      const http = await import('node:http')
      const tls: TlsMaterial = {}
      for (const k of ['ca', 'cert', 'key', 'rejectUnauthorized', 'servername'] as const) if (opts[k] !== undefined) (tls as Record<string, unknown>)[k] = opts[k]
      this.#agent = (cluster?.server ?? '').startsWith('http:')
        ? new http.Agent({ keepAlive: true, maxSockets: 4 })
        : new https.Agent({ ...(tls as object), keepAlive: true, maxSockets: 4 })
    }
    opts.agent?.destroy()
    return { agent: this.#agent, headers }
  }

  /** One request; the parsed body, or undefined on 404. KubeApiError on any other non-2xx. */
  async request (method: string, path: string, body?: unknown, contentType?: string): Promise<Record<string, unknown> | undefined> {
    const { agent, headers } = await this.#init()
    const fetchFn = (await import('node-fetch')).default
    const url = new URL(this.#kc.getCurrentCluster()?.server ?? '')
    url.pathname = url.pathname.replace(/\/$/, '') + path
    const res = await fetchFn(url.href, {
      method,
      agent,
      headers: { ...headers, Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': contentType ?? 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(this.#timeoutMs),
      size: KUBE_API_MAX_BYTES,
    })
    const text = await res.text()
    if (res.status === 404) return undefined
    if (res.status < 200 || res.status >= 300) throw new KubeApiError(res.status, `${method} ${path}: HTTP ${res.status} ${text.slice(0, 300)}`)
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new KubeApiError(res.status, `${method} ${path}: the answer is not a JSON object`)
    return parsed as Record<string, unknown>
  }

  getPod (namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    return this.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`)
  }

  getNad (namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    return this.request('GET', `/apis/k8s.cni.cncf.io/v1/namespaces/${encodeURIComponent(namespace)}/network-attachment-definitions/${encodeURIComponent(name)}`)
  }

  /** Merges `annotations` into the pod; with `uid` the API server refuses (409) a pod of that name with another uid. 'gone' on 404. */
  async patchPodAnnotations (namespace: string, name: string, annotations: Record<string, string>, uid: string): Promise<'patched' | 'gone'> {
    const res = await this.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
      { metadata: { annotations, ...(uid !== '' ? { uid } : {}) } }, 'application/merge-patch+json')
    return res === undefined ? 'gone' : 'patched'
  }

  close (): void {
    this.#agent?.destroy()
    this.#agent = undefined
  }
}
