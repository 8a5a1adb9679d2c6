// A Kubernetes API STAND-IN, not the real thing: the real API server (and etcd) cannot be
// installed on these machines, so tests and the lab use this small HTTPS server instead.
// It serves the subset netrank touches, with real Kubernetes shapes: pods (GET, PATCH, LIST,
// WATCH, plus POST/PUT/DELETE so the lab can drive it over HTTP), NetworkAttachmentDefinitions
// and any other kind stored with putObject (e.g. whereabouts IPPools). Errors are Status
// objects; every object carries metadata.resourceVersion from one global counter; WATCH
// replays changes after ?resourceVersion=N as newline-delimited JSON events.
// Auth: a bearer token or a client certificate signed by the stand-in's CA; else 401.
// kubectl works against it (apply, get, delete): discovery (kube-discovery.ts), an empty
// OpenAPI v2 document for its validation (kube-openapi.ts), Tables for `get`
// (kube-table.ts) and strategic merge patches (kube-patch.ts).
// Kubeconfigs: `kubeconfigPath` has the CA and the token inline (like Multus' generated
// kubeconfig); `certKubeconfigPath` points at CA, client cert and key files (like kubelet's).
// Run standalone for the lab: `node dist/lab/stand-ins/kube-api-stand-in.js --dir D [--port P] [--host H]`.
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { realpathSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:https'
import type { Socket } from 'node:net'
import { isIP } from 'node:net'
import { join, resolve } from 'node:path'
import type { TLSSocket } from 'node:tls'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { isObject } from '../../contract/json.js'
import { discoveryDocument } from './kube-discovery.js'
import { OPENAPI_V2_PROTOBUF, openApiV2Document } from './kube-openapi.js'
import { apiVersionOf, KubeObjectStore, parseApiPath } from './kube-object-store.js'
import type { KubeMeta, KubeObject, ResourceRef, StoreEvent } from './kube-object-store.js'
import { applyPatch, PatchError } from './kube-patch.js'
import { parseFieldSelector, parseLabelSelector, SelectorError } from './kube-selectors.js'
import { generateStandInPki } from './self-signed-cert.js'
import { tableVersionAccepted, toTable } from './kube-table.js'

export type { KubeMeta, KubeObject } from './kube-object-store.js'

/** A pod as the stand-in stores it (only the fields netrank reads are typed). */
export interface KubePod extends KubeObject {
  metadata: KubeMeta
  spec?: { nodeName?: string, [key: string]: unknown }
  status?: { phase?: string, podIP?: string, [key: string]: unknown }
}

export type StandInFaultMode = 'none' | 'refuse' | 'slow' | 'error500' | 'garbage' | 'flood'

/** One request the stand-in received (after TLS, before any fault but `refuse`). */
export interface StandInRequest {
  method: string
  path: string // URL path without the query
  query: string // '?…' or ''
  at: number // ms since epoch
  /** token: the stand-in's own; minted: a TokenRequest's (its service account in `subject`); cert: the client certificate */
  auth: 'token' | 'minted' | 'cert' | 'none'
  subject?: string
}

/** A running stand-in; see the file header. */
export interface KubeApiStandIn {
  url: string
  kubeconfigPath: string
  certKubeconfigPath: string
  caPath: string
  token: string
  putPod (pod: KubePod): KubePod
  getPod (namespace: string, name: string): KubePod | undefined
  deletePod (namespace: string, name: string): void
  putNad (namespace: string, name: string, nad: { spec: { config: string }, metadata?: Partial<KubeMeta> }): void
  putObject (apiPath: string, obj: object): void
  getObject (apiPath: string): KubeObject | undefined
  setFault (f: { mode: StandInFaultMode, delayMs?: number }): void
  /** tokens minted by TokenRequest (POST …/serviceaccounts/NAME/token), valid until their expiry */
  minted: Array<{ serviceAccount: string, token: string, expiresAt: number }>
  /** makes every minted token invalid (as an expiry would) */
  revokeMinted (): void
  requests: StandInRequest[]
  close (): Promise<void>
}

const STAND_IN_DEFAULTS = Object.freeze({
  host: '127.0.0.1',
  port: 0, // any free port
  slowDelayMs: 5_000, // 5 s: longer than the shim's whole API budget (about 2.5 s)
  maxBodyBytes: 3 * 1024 * 1024, // 3 MiB, the real server's default request size limit
})

const STAND_IN_VERSION = 'v1.35.0-netrank-stand-in'
const POD_REF = { prefix: '/api/v1', plural: 'pods' } as const
const NAD_REF = { prefix: '/apis/k8s.cni.cncf.io/v1', plural: 'network-attachment-definitions' } as const

const REASONS: Record<number, string> = {
  400: 'BadRequest', 401: 'Unauthorized', 404: 'NotFound', 405: 'MethodNotAllowed', 409: 'Conflict',
  410: 'Expired', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 422: 'Invalid', 500: 'InternalError',
}

class HttpError extends Error {
  readonly code: number
  readonly reason: string
  readonly details: object | undefined
  constructor (code: number, message: string, reason?: string, details?: object) {
    super(message)
    this.code = code
    this.reason = reason ?? REASONS[code] ?? 'Unknown'
    this.details = details
  }
}

function statusObject (code: number, reason: string, message: string, details?: object): object {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details === undefined ? {} : { details }), code }
}

function sendJson (res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

/** The request body as JSON; an empty body is undefined when `optional` (DELETE's DeleteOptions). */
async function readBody (req: IncomingMessage, optional = false): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > STAND_IN_DEFAULTS.maxBodyBytes) throw new HttpError(413, 'the request body is too large')
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (optional && text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new HttpError(400, `the request body is not valid JSON: ${(err as Error).message}`)
  }
}

function notFound (ref: ResourceRef): HttpError {
  return new HttpError(404, `${ref.plural} "${ref.name ?? ''}" not found`, 'NotFound', { name: ref.name, kind: ref.plural })
}

/** Parses `/api/v1/namespaces/NS/pods/NAME`-style paths; throws with the expected form. */
function refFromPath (apiPath: string, needName: boolean): ResourceRef {
  const ref = parseApiPath(apiPath)
  if (ref === undefined || (needName && ref.name === undefined)) {
    throw new Error(`"${apiPath}" is not an object path like /api/v1/namespaces/NS/pods/NAME or /apis/GROUP/VERSION/namespaces/NS/PLURAL/NAME`)
  }
  return ref
}

/** Starts the stand-in on HTTPS; certificates and kubeconfigs go into `opts.dir`. */
export async function startKubeApiStandIn (opts: { dir: string, host?: string, port?: number }): Promise<KubeApiStandIn> {
  const host = opts.host ?? STAND_IN_DEFAULTS.host
  const dir = resolve(opts.dir)
  await mkdir(dir, { recursive: true })
  const pki = await generateStandInPki(dir, [...new Set(['127.0.0.1', 'localhost', host])].filter((h) => h !== '0.0.0.0' && h !== '::'))
  const [caPem, keyPem, certPem] = await Promise.all([readFile(pki.caPath), readFile(pki.serverKeyPath), readFile(pki.serverCertPath)])
  const token = randomBytes(24).toString('base64url')
  const tokenBuf = Buffer.from(`Bearer ${token}`)

  const store = new KubeObjectStore()
  const requests: StandInRequest[] = []
  let fault: { mode: StandInFaultMode, delayMs: number } = { mode: 'none', delayMs: STAND_IN_DEFAULTS.slowDelayMs }
  const sockets = new Set<Socket>()
  const watches = new Set<ServerResponse>()
  const timers = new Set<NodeJS.Timeout>()
  let closed = false

  const minted: KubeApiStandIn['minted'] = []
  const mintedOf = (h: string): KubeApiStandIn['minted'][number] | undefined => {
    const got = Buffer.from(h)
    return minted.find((m) => {
      const want = Buffer.from(`Bearer ${m.token}`)
      return want.length === got.length && timingSafeEqual(want, got) && m.expiresAt > Date.now()
    })
  }
  const authOf = (req: IncomingMessage): { auth: StandInRequest['auth'], subject?: string } => {
    const h = req.headers.authorization
    if (h !== undefined) {
      const got = Buffer.from(h)
      if (got.length === tokenBuf.length && timingSafeEqual(got, tokenBuf)) return { auth: 'token' }
      const m = mintedOf(h)
      if (m !== undefined) return { auth: 'minted', subject: m.serviceAccount }
    }
    const sock = req.socket as TLSSocket
    if (sock.authorized && Object.keys(sock.getPeerCertificate?.() ?? {}).length > 0) return { auth: 'cert' }
    return { auth: 'none' }
  }

  const delay = async (ms: number, req: IncomingMessage): Promise<void> => {
    await new Promise<void>((resolveDelay) => {
      const timer = setTimeout(() => { timers.delete(timer); resolveDelay() }, ms)
      timers.add(timer)
      req.socket.once('close', () => { clearTimeout(timer); timers.delete(timer); resolveDelay() })
    })
  }

  const matcherOf = (q: URLSearchParams): ((o: unknown) => boolean) => {
    const preds: Array<(o: unknown) => boolean> = []
    const fs = q.get('fieldSelector')
    const ls = q.get('labelSelector')
    if (fs !== null && fs !== '') preds.push(parseFieldSelector(fs))
    if (ls !== null && ls !== '') preds.push(parseLabelSelector(ls))
    return (o) => preds.every((p) => p(o))
  }

  // `kubectl get` asks for a Table (kube-table.ts) and prints its columns; undefined: plain JSON
  const tableFor = (req: IncomingMessage, ref: ResourceRef, q: URLSearchParams): ((objects: KubeObject[]) => object) | undefined => {
    const version = tableVersionAccepted(req.headers.accept)
    if (version === undefined) return undefined
    return (objects) => toTable(store.kindOf(ref), objects, { version, resourceVersion: store.resourceVersion, now: Date.now(), includeObject: q.get('includeObject') })
  }

  const serveWatch = (req: IncomingMessage, res: ServerResponse, ref: ResourceRef, q: URLSearchParams): void => {
    const match = matcherOf(q)
    const rvParam = q.get('resourceVersion') ?? ''
    if (rvParam !== '' && !/^\d+$/.test(rvParam)) throw new HttpError(400, `resourceVersion "${rvParam}" is not a number`)
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' })
    res.flushHeaders()
    watches.add(res)
    // `kubectl get -w` asks for Tables: each event's object is then a one-row Table (not ERROR's Status)
    const table = tableFor(req, ref, q)
    const write = (type: string, object: object): void => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object: table === undefined || type === 'ERROR' ? object : table([object as KubeObject]) })}\n`)
    }
    let since: number
    if (rvParam === '' || rvParam === '0') {
      // No resourceVersion: the real server first sends the current state as ADDED events.
      for (const o of store.list(ref, match)) write('ADDED', o)
      since = Number(store.resourceVersion)
    } else since = Number(rvParam)
    const onEvent = (e: StoreEvent): void => {
      const now = match(e.object)
      const before = e.previous !== undefined && match(e.previous)
      if (e.type === 'MODIFIED') {
        // An object moving in or out of the selector is ADDED or DELETED for this watcher.
        if (now && before) write('MODIFIED', e.object)
        else if (now) write('ADDED', e.object)
        else if (before) write('DELETED', e.object)
      } else if (e.type === 'DELETED' ? before : now) write(e.type, e.object)
    }
    const unsubscribe = store.subscribe(ref, since, onEvent)
    const finish = (): void => {
      if (typeof unsubscribe === 'function') unsubscribe()
      watches.delete(res)
      if (!res.writableEnded) res.end()
    }
    if (unsubscribe === 'expired') {
      write('ERROR', statusObject(410, 'Expired', `too old resource version: ${since} (${store.resourceVersion})`))
      finish()
      return
    }
    const timeoutSeconds = Number(q.get('timeoutSeconds') ?? '0')
    if (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0) {
      const timer = setTimeout(() => { timers.delete(timer); finish() }, timeoutSeconds * 1000)
      timers.add(timer)
      res.once('close', () => { clearTimeout(timer); timers.delete(timer) })
    }
    req.once('close', finish)
    res.once('close', finish)
  }

  const serveResource = async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> => {
    const ref = parseApiPath(url.pathname)
    if (ref === undefined) throw new HttpError(404, 'the server could not find the requested resource', 'NotFound')
    const method = req.method ?? 'GET'
    const q = url.searchParams
    const table = tableFor(req, ref, q)
    const sendObjects = (objects: KubeObject[], plain: object): void => { sendJson(res, 200, table === undefined ? plain : table(objects)) }
    if (ref.name === undefined) {
      if (method === 'GET') {
        const w = q.get('watch')
        if (w === '1' || w === 'true') { serveWatch(req, res, ref, q); return }
        const items = store.list(ref, matcherOf(q))
        const kind = store.kindOf(ref)
        sendObjects(items, { kind: kind === undefined ? 'List' : `${kind}List`, apiVersion: apiVersionOf(ref.prefix), metadata: { resourceVersion: store.resourceVersion }, items })
        return
      }
      if (method === 'POST') {
        const body = await readBody(req)
        if (!isObject(body) || !isObject(body.metadata)) throw new HttpError(400, 'the object needs metadata')
        const meta = body.metadata
        let name = typeof meta.name === 'string' ? meta.name : ''
        if (name === '' && typeof meta.generateName === 'string') name = `${meta.generateName}${randomBytes(3).toString('hex').slice(0, 5)}`
        if (name === '') {
          // kubectl prints `The Pod "" is invalid: metadata.name: Required value: …` from details
          const kind = store.kindOf(ref) ?? ref.plural
          const cause = { reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }
          throw new HttpError(422, `${kind} "" is invalid: ${cause.field}: ${cause.message}`, 'Invalid', { name: '', kind, causes: [cause] })
        }
        if (typeof meta.namespace === 'string' && ref.namespace !== '' && meta.namespace !== ref.namespace) {
          throw new HttpError(400, `the namespace of the object (${meta.namespace}) does not match the namespace on the request (${ref.namespace})`)
        }
        const target = { ...ref, name }
        if (store.get(target) !== undefined) throw new HttpError(409, `${ref.plural} "${name}" already exists`, 'AlreadyExists', { name, kind: ref.plural })
        sendJson(res, 201, store.put(target, body as unknown as KubeObject))
        return
      }
      throw new HttpError(405, `method ${method} is not supported on a collection by the stand-in`)
    }
    const current = store.get(ref)
    switch (method) {
      case 'GET':
        if (current === undefined) throw notFound(ref)
        sendObjects([current], current)
        return
      case 'DELETE': {
        // DeleteOptions (kubectl sends propagationPolicy): only preconditions matter here
        const options = await readBody(req, true)
        if (current === undefined) throw notFound(ref)
        const pre = isObject(options) && isObject(options.preconditions) ? options.preconditions : {}
        for (const [field, label] of [['uid', 'UID'], ['resourceVersion', 'ResourceVersion']] as const) {
          const want = pre[field]
          if (typeof want === 'string' && want !== current.metadata[field]) {
            throw new HttpError(409, `Precondition failed: ${label} in precondition: ${want}, ${label} in object meta: ${String(current.metadata[field])}`, 'Conflict')
          }
        }
        const gone = store.delete(ref)
        if (gone === undefined) throw notFound(ref)
        sendJson(res, 200, gone)
        return
      }
      case 'PUT': {
        const body = await readBody(req)
        if (current === undefined) throw notFound(ref)
        if (!isObject(body) || !isObject(body.metadata)) throw new HttpError(400, 'the object needs metadata')
        const rv = body.metadata.resourceVersion
        if (rv !== undefined && rv !== current.metadata.resourceVersion) {
          throw new HttpError(409, `Operation cannot be fulfilled on ${ref.plural} "${ref.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again`, 'Conflict')
        }
        sendJson(res, 200, store.put(ref, body as unknown as KubeObject))
        return
      }
      case 'PATCH': {
        const contentType = req.headers['content-type'] ?? ''
        const body = await readBody(req)
        if (current === undefined) throw notFound(ref)
        const patched = applyPatch(contentType, current, body)
        if (!isObject(patched) || !isObject(patched.metadata)) throw new HttpError(422, 'the patch removed metadata', 'Invalid')
        const rv = patched.metadata.resourceVersion
        if (rv !== undefined && rv !== current.metadata.resourceVersion) {
          throw new HttpError(409, `Operation cannot be fulfilled on ${ref.plural} "${ref.name ?? ''}": the object has been modified; please apply your changes to the latest version and try again`, 'Conflict')
        }
        // metadata.uid in a patch is a precondition (the apiserver's update path): another uid is a conflict
        const want = patched.metadata.uid
        if (typeof want === 'string' && want !== '' && want !== current.metadata.uid) {
          throw new HttpError(409, `Precondition failed: UID in precondition: ${want}, UID in object meta: ${String(current.metadata.uid)}`, 'Conflict')
        }
        // Identity fields cannot change through a patch.
        const { name, namespace, uid, creationTimestamp } = current.metadata
        Object.assign(patched.metadata, { name, namespace, uid, creationTimestamp, resourceVersion: current.metadata.resourceVersion })
        if (JSON.stringify(patched) === JSON.stringify(current)) { sendJson(res, 200, current); return } // no-op: no new version
        sendJson(res, 200, store.put(ref, patched as unknown as KubeObject))
        return
      }
      default:
        throw new HttpError(405, `method ${method} is not supported by the stand-in`)
    }
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://stand-in.invalid')
    const { auth, subject } = authOf(req)
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search, at: Date.now(), auth, ...(subject !== undefined ? { subject } : {}) })
    if (fault.mode === 'slow') await delay(fault.delayMs, req)
    if (closed || res.destroyed) return
    if (fault.mode === 'error500') {
      sendJson(res, 500, statusObject(500, 'InternalError', 'Internal error occurred: injected by the stand-in (fault error500)'))
      return
    }
    if (fault.mode === 'garbage') {
      res.writeHead(200, { 'Content-Type': 'application/json' })
      res.end('<html>{"kind": "Pod", not json at all')
      return
    }
    if (fault.mode === 'flood') {
      // a well-formed pod whose annotation alone is 8 MiB: what a client must not buffer whole
      sendJson(res, 200, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'flood', namespace: 'default', annotations: { cni: 'x'.repeat(8 * 1024 * 1024) } } })
      return
    }
    if (auth === 'none') {
      sendJson(res, 401, statusObject(401, 'Unauthorized', 'Unauthorized'))
      return
    }
    try {
      if (url.pathname === '/version') {
        sendJson(res, 200, { major: '1', minor: '35', gitVersion: STAND_IN_VERSION, platform: `${process.platform}/${process.arch}` })
        return
      }
      if (url.pathname === '/openapi/v2') {
        const doc = openApiV2Document(STAND_IN_VERSION)
        res.writeHead(200, { 'Content-Type': OPENAPI_V2_PROTOBUF, 'Content-Length': doc.length })
        res.end(doc)
        return
      }
      if (['/healthz', '/readyz', '/livez'].includes(url.pathname)) { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('ok'); return }
      const discovery = req.method === 'GET' ? discoveryDocument(url.pathname, req.headers.host ?? '') : undefined
      if (discovery !== undefined) { sendJson(res, 200, discovery); return }
      // TokenRequest: a token for a service account, bound to nothing, valid for spec.expirationSeconds
      const tr = /^\/api\/v1\/namespaces\/([^/]+)\/serviceaccounts\/([^/]+)\/token$/.exec(url.pathname)
      if (tr !== null) {
        if (req.method !== 'POST') throw new HttpError(405, `method ${req.method ?? ''} is not supported on serviceaccounts/token`)
        const body = await readBody(req) as { spec?: { expirationSeconds?: unknown } } | null
        const want = body?.spec?.expirationSeconds
        const seconds = typeof want === 'number' && Number.isInteger(want) ? want : 3600
        if (seconds < 600) throw new HttpError(422, 'spec.expirationSeconds: Invalid value: may not specify a duration less than 10 minutes', 'Invalid')
        const m = { serviceAccount: `${tr[1] ?? ''}/${tr[2] ?? ''}`, token: randomBytes(24).toString('base64url'), expiresAt: Date.now() + seconds * 1000 }
        minted.push(m)
        sendJson(res, 201, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: seconds, audiences: [] }, status: { token: m.token, expirationTimestamp: new Date(m.expiresAt).toISOString().replace(/\.\d+Z$/, 'Z') } })
        return
      }
      await serveResource(req, res, url)
    } catch (err) {
      if (res.headersSent) { res.destroy(); return }
      if (err instanceof HttpError) sendJson(res, err.code, statusObject(err.code, err.reason, err.message, err.details))
      else if (err instanceof PatchError) sendJson(res, err.code, statusObject(err.code, REASONS[err.code] ?? 'BadRequest', err.message))
      else if (err instanceof SelectorError) sendJson(res, 400, statusObject(400, 'BadRequest', err.message))
      else sendJson(res, 500, statusObject(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`))
    }
  }

  const server = createServer({ key: keyPem, cert: certPem, ca: caPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    handle(req, res).catch((err: unknown) => { res.destroy(err as Error) })
  })
  server.on('connection', (sock: Socket) => {
    if (fault.mode === 'refuse') { sock.destroy(); return }
    sockets.add(sock)
    sock.once('close', () => sockets.delete(sock))
  })
  server.on('tlsClientError', () => { /* a client gave up mid-handshake: nothing to do */ })
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject)
    server.listen(opts.port ?? STAND_IN_DEFAULTS.port, host, () => { server.off('error', reject); resolveListen() })
  })
  const addr = server.address()
  if (addr === null || typeof addr === 'string') throw new Error('the stand-in has no TCP address')
  const urlHost = isIP(host) === 6 ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host
  const url = `https://${urlHost}:${addr.port}`

  const cluster = { name: 'netrank-stand-in', server: url }
  const kubeconfig = (user: object, clusterAuth: object, userName: string): object => ({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster.name, cluster: { server: cluster.server, ...clusterAuth } }],
    users: [{ name: userName, user }],
    contexts: [{ name: cluster.name, context: { cluster: cluster.name, user: userName, namespace: 'default' } }],
    'current-context': cluster.name,
    preferences: {},
  })
  const kubeconfigPath = join(dir, 'kubeconfig.json')
  const certKubeconfigPath = join(dir, 'kubeconfig-cert.json')
  await writeFile(kubeconfigPath, JSON.stringify(kubeconfig({ token }, { 'certificate-authority-data': caPem.toString('base64') }, 'netrank-token'), null, 2) + '\n', { mode: 0o600 })
  await writeFile(certKubeconfigPath, JSON.stringify(kubeconfig(
    { 'client-certificate': pki.clientCertPath, 'client-key': pki.clientKeyPath },
    { 'certificate-authority': pki.caPath }, 'netrank-cert'), null, 2) + '\n', { mode: 0o600 })

  const podRef = (namespace: string, name: string): ResourceRef => ({ ...POD_REF, namespace, name })

  return {
    url,
    kubeconfigPath,
    certKubeconfigPath,
    caPath: pki.caPath,
    token,
    minted,
    revokeMinted () { minted.splice(0) },
    requests,
    putPod (pod) {
      const name = (pod.metadata as Partial<KubeMeta> | undefined)?.name
      if (typeof name !== 'string' || name === '') throw new Error('putPod needs pod.metadata.name')
      return store.put(podRef(pod.metadata.namespace ?? 'default', name), { apiVersion: 'v1', kind: 'Pod', ...pod }) as KubePod
    },
    getPod (namespace, name) {
      return store.get(podRef(namespace, name)) as KubePod | undefined
    },
    deletePod (namespace, name) {
      store.delete(podRef(namespace, name))
    },
    putNad (namespace, name, nad) {
      store.put({ ...NAD_REF, namespace, name }, { apiVersion: 'k8s.cni.cncf.io/v1', kind: 'NetworkAttachmentDefinition', ...nad })
    },
    putObject (apiPath, obj) {
      store.put(refFromPath(apiPath, true), obj as KubeObject)
    },
    getObject (apiPath) {
      return store.get(refFromPath(apiPath, true))
    },
    setFault (f) {
      if (!['none', 'refuse', 'slow', 'error500', 'garbage', 'flood'].includes(f.mode)) throw new Error(`unknown fault mode "${String(f.mode)}" (none, refuse, slow, error500, garbage, flood)`)
      if (f.delayMs !== undefined && (!Number.isFinite(f.delayMs) || f.delayMs < 0)) throw new Error(`fault delayMs must be a number ≥ 0, got ${String(f.delayMs)}`)
      fault = { mode: f.mode, delayMs: f.delayMs ?? STAND_IN_DEFAULTS.slowDelayMs }
      if (f.mode === 'refuse') for (const s of sockets) s.destroy() // keep-alive and watch connections too
    },
    async close () {
      if (closed) return
      closed = true
      for (const t of timers) clearTimeout(t)
      timers.clear()
      for (const w of watches) w.end()
      await new Promise<void>((resolveClose) => {
        server.close(() => resolveClose())
        server.closeAllConnections()
      })
    },
  }
}

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { dir: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' } } })
  if (values.dir === undefined) {
    process.stderr.write('usage: kube-api-stand-in --dir DIR [--port PORT] [--host HOST]\n')
    process.exit(64)
  }
  const port = values.port === undefined ? undefined : Number(values.port)
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    process.stderr.write(`--port must be an integer 0-65535, got "${values.port ?? ''}"\n`)
    process.exit(64)
  }
  const standIn = await startKubeApiStandIn({ dir: values.dir, ...(values.host === undefined ? {} : { host: values.host }), ...(port === undefined ? {} : { port }) })
  process.stdout.write(`${JSON.stringify({ standIn: 'kubernetes-api', url: standIn.url, kubeconfigPath: standIn.kubeconfigPath, certKubeconfigPath: standIn.certKubeconfigPath, caPath: standIn.caPath, pid: process.pid })}\n`)
  const stop = (): void => { standIn.close().then(() => process.exit(0), () => process.exit(1)) }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
}

function isMain (): boolean {
  const entry = process.argv[1]
  if (entry === undefined) return false
  try { return import.meta.url === pathToFileURL(realpathSync(entry)).href } catch { return false }
}

if (isMain()) {
  main().catch((err: unknown) => {
    process.stderr.write(`kube-api-stand-in: ${(err as Error).message}\n`)
    process.exit(1)
  })
}
