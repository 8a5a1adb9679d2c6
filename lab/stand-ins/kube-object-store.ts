// The object store behind the Kubernetes API stand-in: objects keyed by API path, one global
// resourceVersion counter (like etcd's revision), and a bounded event history so a WATCH
// from resourceVersion N replays every change after N, or says 410 Expired when N is older
// than the history, as the real API server does after compaction.
import { randomUUID } from 'node:crypto'
import { servedResource } from './kube-discovery.js'

/** The metadata fields the stand-in manages; everything else is kept as given. */
export interface KubeMeta {
  name: string
  namespace?: string
  uid?: string
  resourceVersion?: string
  creationTimestamp?: string
  labels?: Record<string, string>
  annotations?: Record<string, string>
  [key: string]: unknown
}

/** Any Kubernetes object as stored by the stand-in. */
export interface KubeObject {
  apiVersion?: string
  kind?: string
  metadata: KubeMeta
  [key: string]: unknown
}

/** A parsed API path: `/api/v1/namespaces/NS/pods/NAME` → prefix `/api/v1`, plural `pods`… */
export interface ResourceRef {
  prefix: string // '/api/v1' or '/apis/GROUP/VERSION'
  plural: string
  namespace: string // '' for cluster-scoped kinds and for all-namespace LIST/WATCH
  name?: string
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED'

/** One change, as kept in the history and sent to watchers. */
export interface StoreEvent {
  rv: number
  type: WatchEventType
  collection: string
  namespace: string
  object: KubeObject
  previous?: KubeObject
}

const STORE_DEFAULTS = Object.freeze({
  historyLimit: 10_000, // events kept for WATCH replay; older resourceVersions get 410 Expired
})

/** Parses an API path; undefined when it is not a resource path the stand-in serves. */
export function parseApiPath (pathname: string): ResourceRef | undefined {
  const segs = pathname.split('/').filter((s) => s.length > 0).map(decodeURIComponent)
  let prefix: string
  let rest: string[]
  if (segs[0] === 'api' && segs.length >= 2) {
    prefix = `/api/${segs[1] ?? ''}`
    rest = segs.slice(2)
  } else if (segs[0] === 'apis' && segs.length >= 3) {
    prefix = `/apis/${segs[1] ?? ''}/${segs[2] ?? ''}`
    rest = segs.slice(3)
  } else return undefined
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const [, namespace = '', plural = '', name, ...sub] = rest
    // the status subresource is the object itself here (what is PATCHed there is the status);
    // other subresources (log, exec…) are not served
    if (sub.length > 0 && !(sub.length === 1 && sub[0] === 'status' && name !== undefined)) return undefined
    return name === undefined ? { prefix, plural, namespace } : { prefix, plural, namespace, name }
  }
  if (rest.length === 1 || rest.length === 2) {
    const [plural = '', name] = rest
    return name === undefined ? { prefix, plural, namespace: '' } : { prefix, plural, namespace: '', name }
  }
  return undefined
}

/** `apiVersion` for objects under a prefix: `/api/v1` → `v1`, `/apis/g/v` → `g/v`. */
export function apiVersionOf (prefix: string): string {
  return prefix.startsWith('/apis/') ? prefix.slice('/apis/'.length) : prefix.slice('/api/'.length)
}

function collectionKey (ref: ResourceRef): string {
  return `${ref.prefix} ${ref.plural}`
}

function nowRfc3339 (): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/** The in-memory store; all methods return copies, never the stored objects. */
export class KubeObjectStore {
  #rv = 1
  #compactedRv = 0 // every event with rv ≤ this has been dropped from history
  readonly #objects = new Map<string, Map<string, KubeObject>>()
  readonly #history: StoreEvent[] = []
  readonly #listeners = new Set<(e: StoreEvent) => void>()
  readonly #historyLimit: number

  constructor (opts: { historyLimit?: number } = {}) {
    const limit = opts.historyLimit ?? STORE_DEFAULTS.historyLimit
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`historyLimit must be an integer ≥ 1, got ${String(limit)}`)
    this.#historyLimit = limit
  }

  get resourceVersion (): string { return String(this.#rv) }

  /** The kind served at a collection, from the served resources (kube-discovery.ts) or the objects stored there. */
  kindOf (ref: ResourceRef): string | undefined {
    const known = servedResource(ref.prefix, ref.plural)
    if (known !== undefined) return known.kind
    for (const o of this.#objects.get(collectionKey(ref))?.values() ?? []) {
      if (typeof o.kind === 'string') return o.kind
    }
    return undefined
  }

  get (ref: ResourceRef): KubeObject | undefined {
    const o = this.#objects.get(collectionKey(ref))?.get(`${ref.namespace}/${ref.name ?? ''}`)
    return o === undefined ? undefined : structuredClone(o)
  }

  /** Objects of a collection (all namespaces when ref.namespace is ''), sorted by namespace/name. */
  list (ref: ResourceRef, match: (o: KubeObject) => boolean = () => true): KubeObject[] {
    const coll = this.#objects.get(collectionKey(ref))
    if (coll === undefined) return []
    return [...coll.entries()]
      .filter(([k, o]) => (ref.namespace === '' || k.startsWith(`${ref.namespace}/`)) && match(o))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => structuredClone(o))
  }

  /**
   * Creates or replaces the object at ref (ref.name required). Fills apiVersion, kind,
   * metadata.name/namespace/uid/creationTimestamp when missing, keeps uid and
   * creationTimestamp of a replaced object, and sets a new resourceVersion.
   */
  put (ref: ResourceRef, obj: Omit<KubeObject, 'metadata'> & { metadata?: Partial<KubeMeta> }): KubeObject {
    if (ref.name === undefined || ref.name === '') throw new Error('put needs an object name')
    const key = collectionKey(ref)
    let coll = this.#objects.get(key)
    if (coll === undefined) { coll = new Map(); this.#objects.set(key, coll) }
    const id = `${ref.namespace}/${ref.name}`
    const previous = coll.get(id)
    const o = structuredClone(obj) as KubeObject
    o.apiVersion ??= apiVersionOf(ref.prefix)
    o.kind ??= this.kindOf(ref)
    o.metadata = { ...(o.metadata ?? {}), name: ref.name }
    if (ref.namespace !== '') o.metadata.namespace = ref.namespace
    o.metadata.uid = previous?.metadata.uid ?? o.metadata.uid ?? randomUUID()
    o.metadata.creationTimestamp = previous?.metadata.creationTimestamp ?? o.metadata.creationTimestamp ?? nowRfc3339()
    o.metadata.resourceVersion = String(++this.#rv)
    coll.set(id, o)
    this.#emit(previous === undefined
      ? { rv: this.#rv, type: 'ADDED', collection: key, namespace: ref.namespace, object: o }
      : { rv: this.#rv, type: 'MODIFIED', collection: key, namespace: ref.namespace, object: o, previous })
    return structuredClone(o)
  }

  /** Removes the object; returns it (with the deletion's resourceVersion) or undefined. */
  delete (ref: ResourceRef): KubeObject | undefined {
    const key = collectionKey(ref)
    const coll = this.#objects.get(key)
    const id = `${ref.namespace}/${ref.name ?? ''}`
    const previous = coll?.get(id)
    if (coll === undefined || previous === undefined) return undefined
    coll.delete(id)
    const o = structuredClone(previous)
    o.metadata.resourceVersion = String(++this.#rv)
    this.#emit({ rv: this.#rv, type: 'DELETED', collection: key, namespace: ref.namespace, object: o, previous })
    return structuredClone(o)
  }

  /**
   * Events of ref's collection after resourceVersion `since`, then live ones through
   * `listener` until the returned function is called. Returns 'expired' when `since` is
   * older than the kept history.
   */
  subscribe (ref: ResourceRef, since: number, listener: (e: StoreEvent) => void): (() => void) | 'expired' {
    if (since < this.#compactedRv) return 'expired'
    const key = collectionKey(ref)
    const mine = (e: StoreEvent): boolean => e.collection === key && (ref.namespace === '' || e.namespace === ref.namespace)
    for (const e of this.#history) if (e.rv > since && mine(e)) listener(e)
    const live = (e: StoreEvent): void => { if (mine(e)) listener(e) }
    this.#listeners.add(live)
    return () => { this.#listeners.delete(live) }
  }

  #emit (e: StoreEvent): void {
    this.#history.push(e)
    while (this.#history.length > this.#historyLimit) {
      const dropped = this.#history.shift()
      if (dropped !== undefined) this.#compactedRv = dropped.rv
    }
    for (const l of [...this.#listeners]) l(e)
  }
}
