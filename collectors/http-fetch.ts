/**
 * Outbound HTTP for the collectors (kubelet, cAdvisor, the API server's node proxy):
 * node-fetch over keep-alive agents (http and https, bearer token, custom CA), a hard
 * timeout over the whole exchange (headers and body) through an AbortController, and a
 * response-size cap enforced while the body streams in (the request is aborted past it),
 * so a stuck or runaway endpoint costs bounded time and memory.
 */
import http from 'node:http'
import https from 'node:https'
import fetch from 'node-fetch'

export const HTTP_FETCH_DEFAULTS = Object.freeze({
  timeoutMs: 10_000, // 10 s for a whole scrape; the kubelet answers in well under 1 s
  maxBytes: 16 * 1024 * 1024, // 16 MiB: a 1.4 MB /metrics/cadvisor page with room for big nodes
  maxSockets: 4, // per agent: collectors scrape one endpoint at a time
  keepAliveMs: 30_000, // idle keep-alive sockets live this long
})

export type HttpFetchErrorCode = 'TIMEOUT' | 'TOO_LARGE' | 'HTTP_STATUS' | 'NETWORK' | 'BAD_URL'

/** A failed fetch with a machine-readable code (the collectors count errors by it). */
export class HttpFetchError extends Error {
  readonly code: HttpFetchErrorCode
  readonly status: number | undefined
  readonly url: string
  constructor (code: HttpFetchErrorCode, url: string, message: string, status?: number, cause?: unknown) {
    super(`${message} (${url})`, cause === undefined ? undefined : { cause })
    this.name = 'HttpFetchError'
    this.code = code
    this.status = status
    this.url = url
  }
}

export interface HttpClientOptions {
  timeoutMs?: number
  maxBytes?: number
  /** sent as `Authorization: Bearer …` (service-account token) */
  bearerToken?: string
  /** PEM CA bundle for https (the cluster CA) */
  ca?: string | Buffer
  /** kubelets often serve self-signed certificates; only with an explicit opt-in */
  insecureSkipTlsVerify?: boolean
  headers?: Record<string, string>
}

export interface StreamResponse {
  status: number
  headers: Map<string, string>
  /** the body in chunks; iterating past maxBytes or the timeout throws HttpFetchError */
  body: AsyncIterable<Buffer>
}

/** A reusable client with its own keep-alive agents. Call close() to drop idle sockets. */
export class HttpClient {
  readonly #timeoutMs: number
  readonly #maxBytes: number
  readonly #headers: Record<string, string>
  readonly #http: http.Agent
  readonly #https: https.Agent

  constructor (opts: HttpClientOptions = {}) {
    const timeoutMs = opts.timeoutMs ?? HTTP_FETCH_DEFAULTS.timeoutMs
    const maxBytes = opts.maxBytes ?? HTTP_FETCH_DEFAULTS.maxBytes
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new RangeError(`HttpClient: timeoutMs must be > 0 (ms), got ${String(timeoutMs)}`)
    if (!Number.isInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`HttpClient: maxBytes must be an integer > 0, got ${String(maxBytes)}`)
    this.#timeoutMs = timeoutMs
    this.#maxBytes = maxBytes
    this.#headers = { accept: 'text/plain, application/json;q=0.9, */*;q=0.1', ...opts.headers }
    if (opts.bearerToken !== undefined && opts.bearerToken !== '') this.#headers.authorization = `Bearer ${opts.bearerToken.trim()}`
    const common = { keepAlive: true, keepAliveMsecs: 1000, maxSockets: HTTP_FETCH_DEFAULTS.maxSockets, timeout: HTTP_FETCH_DEFAULTS.keepAliveMs }
    this.#http = new http.Agent(common)
    this.#https = new https.Agent({ ...common, ...(opts.ca !== undefined ? { ca: opts.ca } : {}), rejectUnauthorized: opts.insecureSkipTlsVerify !== true })
  }

  /** GET `url` and stream the body. Non-2xx answers throw HTTP_STATUS (the body is drained, up to 4 KiB kept in the message). */
  async getStream (url: string): Promise<StreamResponse> {
    let u: URL
    try {
      u = new URL(url)
    } catch {
      throw new HttpFetchError('BAD_URL', url, 'not a URL')
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new HttpFetchError('BAD_URL', url, `unsupported protocol ${u.protocol}`)
    const ac = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => { timedOut = true; ac.abort() }, this.#timeoutMs)
    const fail = (err: unknown): HttpFetchError => {
      if (err instanceof HttpFetchError) return err
      if (timedOut) return new HttpFetchError('TIMEOUT', url, `no complete answer within ${this.#timeoutMs} ms`, undefined, err)
      return new HttpFetchError('NETWORK', url, (err as Error)?.message ?? String(err), undefined, err)
    }
    let res: Awaited<ReturnType<typeof fetch>>
    try {
      res = await fetch(u.href, {
        headers: this.#headers,
        signal: ac.signal,
        agent: u.protocol === 'https:' ? this.#https : this.#http,
        compress: true,
        redirect: 'error', // a redirect off the kubelet would carry the token elsewhere
      })
    } catch (err) {
      clearTimeout(timer)
      throw fail(err)
    }
    const declared = Number(res.headers.get('content-length'))
    if (Number.isFinite(declared) && declared > this.#maxBytes) {
      clearTimeout(timer)
      ac.abort()
      throw new HttpFetchError('TOO_LARGE', url, `answer declares ${declared} bytes, cap is ${this.#maxBytes}`, res.status)
    }
    const maxBytes = this.#maxBytes
    const source = res.body
    async function * capped (): AsyncGenerator<Buffer> {
      let seen = 0
      try {
        if (source === null) return
        for await (const chunk of source as AsyncIterable<Buffer | string>) {
          const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
          seen += b.length
          if (seen > maxBytes) {
            ac.abort()
            throw new HttpFetchError('TOO_LARGE', url, `answer exceeds the cap of ${maxBytes} bytes`, res.status)
          }
          yield b
        }
      } catch (err) {
        throw fail(err)
      } finally {
        clearTimeout(timer)
        // A consumer that stops early must not leave the socket half-read.
        if (seen <= maxBytes) ac.abort()
      }
    }
    const headers = new Map<string, string>()
    res.headers.forEach((v, k) => { headers.set(k, v) })
    if (res.status < 200 || res.status > 299) {
      let text = ''
      try {
        for await (const b of capped()) { if (text.length < 4096) text += b.toString('utf8') }
      } catch { /* the status is the error that matters */ }
      throw new HttpFetchError('HTTP_STATUS', url, `HTTP ${res.status}${text !== '' ? `: ${text.slice(0, 4096).trim()}` : ''}`, res.status)
    }
    return { status: res.status, headers, body: capped() }
  }

  /** GET `url` and return the whole body as text (UTF-8), under the same caps. */
  async getText (url: string): Promise<{ status: number, text: string, bytes: number }> {
    const r = await this.getStream(url)
    const parts: Buffer[] = []
    let bytes = 0
    for await (const b of r.body) { parts.push(b); bytes += b.length }
    return { status: r.status, text: Buffer.concat(parts).toString('utf8'), bytes }
  }

  /** Drop idle keep-alive sockets. */
  close (): void {
    this.#http.destroy()
    this.#https.destroy()
  }
}
