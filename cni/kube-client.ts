// A minimal Kubernetes API client for the shim: node:https with the kubeconfig's CA,
// client certificate or bearer token; no client library (its import alone costs ~0.8 s).
// Each request retries transient failures (refused, reset, timeout, 5xx, 429, garbage)
// with backoff inside one budget (2.5 s by default), then fails with code 11.
import { readFileSync } from 'node:fs'
import type * as Http from 'node:http'
import type * as Https from 'node:https'
import { dirname, isAbsolute, resolve } from 'node:path'
import { fail, type CniError } from './errors.js'
import { log } from './log.js'
import { SHIM_DEFAULTS } from './shim-conf.js'
import { isObject } from '../contract/json.js'
import { setTimeout as sleep } from 'node:timers/promises'

/** How to reach and authenticate to the API server. */
export interface KubeCredentials {
  server: URL
  ca?: Buffer
  cert?: Buffer
  key?: Buffer
  token?: string
  /** where the token came from (the user's `tokenFile`): read again once on a 401 */
  tokenFile?: string
  /** the kubeconfig's `tls-server-name`: the name sent as SNI and checked against the server certificate */
  tlsServerName?: string
  insecureSkipTlsVerify: boolean
}

/** The largest API answer the shim reads (4 MiB: a pod object is a few KiB, the API's own limit on an object is 1.5 MiB). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024

function bad (path: string, why: string): CniError {
  return fail('NR_CNI_BAD_KUBECONFIG', `${path}: ${why}`)
}

function named (list: unknown, name: string, kind: string, path: string): Record<string, unknown> {
  if (!Array.isArray(list)) throw bad(path, `no "${kind}s" list`)
  const hit = list.find((e) => isObject(e) && e.name === name) as Record<string, unknown> | undefined
  if (hit === undefined || !isObject(hit[kind])) throw bad(path, `${kind} ${JSON.stringify(name)} is not defined`)
  return hit[kind] as Record<string, unknown>
}

function fileOrData (obj: Record<string, unknown>, fileKey: string, dataKey: string, base: string, path: string): Buffer | undefined {
  const data = obj[dataKey]
  if (typeof data === 'string' && data !== '') return Buffer.from(data, 'base64')
  const file = obj[fileKey]
  if (typeof file !== 'string' || file === '') return undefined
  const full = isAbsolute(file) ? file : resolve(base, file)
  try {
    return readFileSync(full)
  } catch (err) {
    throw bad(path, `${fileKey} ${full} is unreadable (${(err as Error).message})`)
  }
}

/** Line and column (1-based) of character `offset` in `text`. */
function lineCol (text: string, offset: number): { line: number, col: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)))
  const nl = before.lastIndexOf('\n')
  return { line: before.split('\n').length, col: before.length - nl }
}

/**
 * Where a kubeconfig failed to parse, WITHOUT its content: a kubeconfig holds tokens and
 * keys, and parser messages quote the offending line (yaml shows it with a caret, V8's
 * JSON.parse quotes the text around the error). The CNI error goes into kubelet events
 * and the shim's log; only the position and the parser's error kind may.
 */
function parseErrorWhere (err: unknown, text: string, json: boolean): string {
  const e = err as { code?: unknown, linePos?: Array<{ line: number, col: number }>, message?: unknown }
  if (!json) {
    const at = e.linePos?.[0]
    const kind = typeof e.code === 'string' ? e.code : 'syntax error'
    return at !== undefined ? `${kind} at line ${at.line}, column ${at.col}` : kind
  }
  const m = /position (\d+)/.exec(typeof e.message === 'string' ? e.message : '')
  if (m === null) return 'syntax error'
  const at = lineCol(text, Number(m[1]))
  return `syntax error at line ${at.line}, column ${at.col}`
}

/** Parses kubeconfig text: JSON directly, YAML through the `yaml` package loaded only then. */
export async function parseKubeconfigText (text: string, path: string): Promise<Record<string, unknown>> {
  let doc: unknown
  const json = text.trimStart().startsWith('{')
  try {
    if (json) {
      doc = JSON.parse(text)
    } else {
      const { parse } = await import('yaml')
      doc = parse(text)
    }
  } catch (err) {
    throw bad(path, `not valid ${json ? 'JSON' : 'YAML'} (${parseErrorWhere(err, text, json)}; the file's content is not quoted: it holds credentials)`)
  }
  if (!isObject(doc)) throw bad(path, 'not a kubeconfig object')
  return doc
}

/**
 * Reads the kubeconfig at `path`: current context → cluster (server, CA) and user (client
 * cert/key, token, tokenFile). An `http://` server is refused unless `allowHttp` (the shim
 * conf's `allowInsecureApi`): over plain HTTP the bearer token and every pod object travel
 * in the clear.
 */
export async function loadKubeconfig (path: string, opts: { allowHttp?: boolean } = {}): Promise<KubeCredentials> {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw bad(path, `unreadable (${(err as Error).message})`)
  }
  const doc = await parseKubeconfigText(text, path)
  const base = dirname(path)
  const current = doc['current-context']
  if (typeof current !== 'string' || current === '') throw bad(path, 'no "current-context"')
  const context = named(doc.contexts, current, 'context', path)
  if (typeof context.cluster !== 'string') throw bad(path, `context ${current} names no cluster`)
  const cluster = named(doc.clusters, context.cluster, 'cluster', path)
  const user = typeof context.user === 'string' && context.user !== '' ? named(doc.users, context.user, 'user', path) : {}
  if (typeof cluster.server !== 'string') throw bad(path, `cluster ${context.cluster} has no "server"`)
  let server: URL
  try {
    server = new URL(cluster.server)
  } catch {
    throw bad(path, `server ${JSON.stringify(cluster.server)} is not a URL`)
  }
  if (server.protocol !== 'https:' && server.protocol !== 'http:') throw bad(path, `server ${server.href} must be https://`)
  if (server.protocol === 'http:' && opts.allowHttp !== true) {
    throw bad(path, `server ${server.href} is plain http://: the token and pod objects would travel unencrypted; use https://, or set "allowInsecureApi": true in the shim conf for a test cluster`)
  }
  if (user.exec !== undefined || user['auth-provider'] !== undefined) {
    throw bad(path, 'exec and auth-provider credentials are not supported by the shim; use a client certificate or a token')
  }
  const access: KubeCredentials = { server, insecureSkipTlsVerify: cluster['insecure-skip-tls-verify'] === true }
  const ca = fileOrData(cluster, 'certificate-authority', 'certificate-authority-data', base, path)
  if (ca !== undefined) access.ca = ca
  const tlsServerName = cluster['tls-server-name']
  if (tlsServerName !== undefined) {
    if (typeof tlsServerName !== 'string') throw bad(path, `cluster ${context.cluster}: "tls-server-name" must be a string`)
    if (tlsServerName !== '') access.tlsServerName = tlsServerName
  }
  const cert = fileOrData(user, 'client-certificate', 'client-certificate-data', base, path)
  const key = fileOrData(user, 'client-key', 'client-key-data', base, path)
  if ((cert === undefined) !== (key === undefined)) throw bad(path, 'client certificate and client key must be given together')
  if (cert !== undefined && key !== undefined) { access.cert = cert; access.key = key }
  if (typeof user.token === 'string' && user.token !== '') {
    access.token = user.token
  } else if (typeof user.tokenFile === 'string' && user.tokenFile !== '') {
    const f = isAbsolute(user.tokenFile) ? user.tokenFile : resolve(base, user.tokenFile)
    access.token = readTokenFile(f, path)
    access.tokenFile = f
  }
  return access
}

/**
 * A token file's token. Missing is code 11 (try again later): the netrank agent mints the
 * shim's token into this file and a pod may be created before it first did; unreadable
 * otherwise (permissions, a directory) is the kubeconfig's fault, code 106.
 */
function readTokenFile (file: string, kubeconfig: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw fail('NR_CNI_API_UNAVAILABLE', `the token file ${file} (kubeconfig ${kubeconfig}) does not exist yet: the netrank agent writes it`)
    throw bad(kubeconfig, `tokenFile ${file} is unreadable (${(err as Error).message})`)
  }
}

/** Retry timing of the client. */
export interface KubeClientOptions {
  budgetMs: number
  attemptTimeoutMs: number
}

interface Reply { status: number, body: string }

class Transient extends Error {}


/** The shim's API client: GET pod, GET NAD, PATCH pod annotations. Create with KubeClient.create; call close() when done. */
export class KubeClient {
  readonly #access: KubeCredentials
  readonly #opts: KubeClientOptions
  readonly #agent: Http.Agent
  readonly #mod: typeof Http | typeof Https
  #token: string | undefined

  /**
   * Loads node:http or node:https only now: requiring them costs 2-5 ms of start-up,
   * which DEL, CHECK, STATUS, GC and pod-less ADDs never need to pay. The API server's
   * certificate is verified by Node (OpenSSL) against the kubeconfig's CA, or Node's roots
   * when it names none — netrank does not verify certificates itself.
   */
  static async create (access: KubeCredentials, opts: Partial<KubeClientOptions> = {}): Promise<KubeClient> {
    const mod = access.server.protocol === 'https:' ? await import('node:https') : await import('node:http')
    return new KubeClient(access, opts, mod)
  }

  private constructor (access: KubeCredentials, opts: Partial<KubeClientOptions>, mod: typeof Http | typeof Https) {
    this.#access = access
    this.#token = access.token
    this.#opts = { budgetMs: opts.budgetMs ?? SHIM_DEFAULTS.apiBudgetMs, attemptTimeoutMs: opts.attemptTimeoutMs ?? SHIM_DEFAULTS.apiAttemptTimeoutMs }
    this.#mod = mod
    // one kept-alive connection: GET pod, GET NADs and the PATCH reuse the TLS session.
    // With the kubeconfig's CA only that CA is trusted; `ca: []` where nothing is verified
    // (insecure-skip-tls-verify) keeps Node from parsing its root store for nothing.
    const tlsOpts: Https.AgentOptions = access.insecureSkipTlsVerify
      ? { ca: [], rejectUnauthorized: false }
      : { rejectUnauthorized: true, ...(access.ca !== undefined ? { ca: access.ca } : {}) }
    this.#agent = new mod.Agent({ keepAlive: true, maxSockets: 1, cert: access.cert, key: access.key, ...tlsOpts })
  }

  #once (method: string, path: string, body: string | undefined, contentType: string | undefined, timeoutMs: number): Promise<Reply> {
    const { server } = this.#access
    const token = this.#token
    const mod = this.#mod
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'netrank-cni' }
    if (token !== undefined) headers.Authorization = `Bearer ${token}`
    if (body !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json'
      headers['Content-Length'] = String(Buffer.byteLength(body))
    }
    const prefix = server.pathname.replace(/\/$/, '')
    return new Promise((resolvePromise, reject) => {
      const req = mod.request({
        protocol: server.protocol,
        hostname: server.hostname.replace(/^\[|\]$/g, ''),
        port: server.port === '' ? undefined : Number(server.port),
        path: prefix + path,
        method,
        ...(this.#access.tlsServerName !== undefined ? { servername: this.#access.tlsServerName } : {}),
        headers,
        agent: this.#agent,
      }, (res) => {
        const chunks: Buffer[] = []
        let size = 0
        res.on('data', (c: Buffer) => {
          size += c.length
          // a pod or a NAD is kilobytes; a body past the cap is not buffered (a broken or hostile server)
          if (size > MAX_RESPONSE_BYTES) { clearTimeout(timer); req.destroy(); reject(fail('NR_CNI_API_ERROR', `${method} ${path}: answer larger than ${MAX_RESPONSE_BYTES} bytes`)); return }
          chunks.push(c)
        })
        res.on('end', () => { clearTimeout(timer); resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }) })
        res.on('error', (e) => { clearTimeout(timer); reject(new Transient(e.message)) })
      })
      const timer = setTimeout(() => req.destroy(new Transient(`no answer within ${timeoutMs} ms`)), timeoutMs)
      // A new connection that got through TCP but not through the TLS handshake failed on the
      // certificate (whatever code OpenSSL gives it, e.g. UNSPECIFIED for an unhandled critical
      // extension): that does not heal by retrying, and no request byte was sent.
      let tcpUp = false
      let tlsUp = false
      req.on('socket', (s) => {
        s.once('connect', () => { tcpUp = true })
        s.once('secureConnect', () => { tlsUp = true })
      })
      req.on('error', (e) => {
        clearTimeout(timer)
        if (e instanceof Transient) { reject(e); return }
        const code = (e as NodeJS.ErrnoException).code ?? ''
        // …unless the socket itself failed (a reset or timeout mid-handshake is transient; EPROTO is TLS's own)
        const socketErrno = /^E[A-Z]+$/.test(code) && code !== 'EPROTO'
        const handshake = server.protocol === 'https:' && tcpUp && !tlsUp && !socketErrno
        // TLS and certificate problems do not heal by retrying
        if (handshake || /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO|ERR_OSSL/.test(code) || /certificate/i.test(e.message)) {
          reject(fail('NR_CNI_API_ERROR', `${method} ${path}: TLS failure ${code} ${e.message}`))
          return
        }
        reject(new Transient(`${code} ${e.message}`.trim()))
      })
      req.end(body)
    })
  }

  /** One API call with retries; returns the parsed body, or undefined on 404. */
  async request (method: string, path: string, body?: unknown, contentType?: string): Promise<Record<string, unknown> | undefined> {
    const deadline = Date.now() + this.#opts.budgetMs
    const text = body === undefined ? undefined : JSON.stringify(body)
    let backoffMs = 100
    let attempts = 0
    let lastWhy = ''
    for (;;) {
      const left = deadline - Date.now()
      if (left <= 0) break
      attempts++
      try {
        let reply = await this.#once(method, path, text, contentType, Math.min(this.#opts.attemptTimeoutMs, left))
        if (reply.status === 401 && this.#access.tokenFile !== undefined) reply = await this.#afterUnauthorized(method, path, text, contentType, deadline)
        if (reply.status === 404) return undefined
        if (reply.status >= 500 || reply.status === 429) throw new Transient(`HTTP ${reply.status}`)
        if (reply.status < 200 || reply.status >= 300) {
          throw fail('NR_CNI_API_ERROR', `${method} ${path}: HTTP ${reply.status} ${reply.body.slice(0, 300)}`)
        }
        let parsed: unknown
        try {
          parsed = JSON.parse(reply.body)
        } catch {
          throw new Transient('answer is not JSON')
        }
        if (!isObject(parsed)) throw new Transient('answer is not a JSON object')
        return parsed
      } catch (err) {
        if (!(err instanceof Transient)) throw err
        lastWhy = err.message
        log.debug({ method, path, attempt: attempts, why: lastWhy }, 'API attempt failed')
      }
      const pause = Math.min(backoffMs, deadline - Date.now())
      if (pause <= 0) break
      await sleep(pause)
      backoffMs *= 2
    }
    throw fail('NR_CNI_API_UNAVAILABLE', `${method} ${this.#access.server.origin}${path} failed ${attempts} times in ${this.#opts.budgetMs} ms (last: ${lastWhy})`)
  }

  /**
   * A 401 with a token from a file: the token may have been refreshed since it was read (the
   * agent rewrites it before it expires). Read it again once and retry; a second 401, or the
   * same token, is code 11 naming the file (the kubelet retries; the agent may be down).
   */
  async #afterUnauthorized (method: string, path: string, body: string | undefined, contentType: string | undefined, deadline: number): Promise<Reply> {
    const file = this.#access.tokenFile ?? ''
    const before = this.#token
    let fresh: string | undefined
    try {
      fresh = readFileSync(file, 'utf8').trim()
    } catch {
      fresh = undefined
    }
    const refused = (why: string): CniError => fail('NR_CNI_API_UNAVAILABLE', `${method} ${path}: 401 Unauthorized with the token of ${file} (${why}); the netrank agent mints and refreshes that token: is it running?`)
    if (fresh === undefined || fresh === '' || fresh === before) throw refused(fresh === before ? 'read again: unchanged' : 'read again: unreadable')
    this.#token = fresh
    log.info({ tokenFile: file }, 'API answered 401; using the token file\'s newer token')
    const reply = await this.#once(method, path, body, contentType, Math.max(1, Math.min(this.#opts.attemptTimeoutMs, deadline - Date.now())))
    if (reply.status === 401) throw refused('read again: refused too')
    return reply
  }

  /** GET a pod; undefined when it does not exist. */
  getPod (namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    return this.request('GET', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`)
  }

  /** GET a NetworkAttachmentDefinition; undefined when it does not exist. */
  getNad (namespace: string, name: string): Promise<Record<string, unknown> | undefined> {
    return this.request('GET', `/apis/k8s.cni.cncf.io/v1/namespaces/${encodeURIComponent(namespace)}/network-attachment-definitions/${encodeURIComponent(name)}`)
  }

  /** Merge-patches pod annotations; 'gone' when the pod no longer exists. */
  /** Merges `annotations` into the pod; with `uid` the API server refuses (409) a pod of that name with another uid. */
  async patchPodAnnotations (namespace: string, name: string, annotations: Record<string, string>, uid = ''): Promise<'patched' | 'gone'> {
    const res = await this.request('PATCH', `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`,
      { metadata: { annotations, ...(uid !== '' ? { uid } : {}) } }, 'application/merge-patch+json')
    return res === undefined ? 'gone' : 'patched'
  }

  /** Closes the kept-alive connection so the process can exit. */
  close (): void {
    this.#agent.destroy()
  }
}

/** The annotations of a pod object ({} when it has none). */
export function podAnnotations (pod: Record<string, unknown>): Record<string, string> {
  const meta = pod.metadata
  if (!isObject(meta) || !isObject(meta.annotations)) return {}
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(meta.annotations)) if (typeof v === 'string') out[k] = v
  return out
}
