/**
 * Kubernetes objects the collectors need (this node's pods, probe pods, whereabouts
 * IPPools), kept current by @kubernetes/client-node informers (LIST, then WATCH from the
 * list's resourceVersion) instead of polling lists. client-node's ListWatch stops for good
 * on a watch error; this wrapper restarts it with a capped backoff, so an API server that
 * goes away and comes back only costs fresh data meanwhile, never the agent.
 *
 * The library is imported lazily: it costs ~0.8 s to load, and agents without
 * `kubernetes` configured (or with no collector needing it) never pay for it.
 */
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node'
import { KubeApi } from './kube-api.js'

export const KUBE_WATCH_DEFAULTS = Object.freeze({
  restartMinMs: 500, // 0.5 s before the first restart after an error
  restartMaxMs: 30_000, // 30 s at most between restarts
})

/** How to reach the API server (the agent config's `kubernetes` section). */
export interface KubeConfigSource {
  kubeconfig?: string
  inCluster: boolean
}

/** Loads a KubeConfig from a file or from the pod's service account. */
export async function loadKubeConfig (access: KubeConfigSource): Promise<KubeConfig> {
  const k8s = await import('@kubernetes/client-node')
  const kc = new k8s.KubeConfig()
  if (access.kubeconfig !== undefined) kc.loadFromFile(access.kubeconfig)
  else if (access.inCluster) kc.loadFromCluster()
  else throw new Error('kubernetes: neither kubeconfig nor inCluster is set')
  return kc
}

/** A pod as the collectors read it. */
export interface PodObject extends KubernetesObject {
  metadata?: KubernetesObject['metadata'] & { labels?: Record<string, string>, annotations?: Record<string, string> }
  spec?: { nodeName?: string, hostNetwork?: boolean }
  status?: { phase?: string, podIP?: string }
}

/** A node as the probes read it: cordoned, and its Ready condition. */
export interface NodeObject extends KubernetesObject {
  spec?: { unschedulable?: boolean }
  status?: { conditions?: Array<{ type?: string, status?: string }> }
}

/** What a watched collection offers its readers. */
export interface KubeCache<T> {
  /** the objects now (empty until the first list succeeded) */
  list: () => readonly T[]
  /** the first list succeeded */
  readonly synced: boolean
  /** the last list/watch error, cleared by the next successful (re)connect */
  readonly lastError: string | undefined
  start: () => Promise<void>
  stop: () => Promise<void>
}

export interface WatchSpec {
  /** the collection path, e.g. /api/v1/pods */
  path: string
  labelSelector?: string
  fieldSelector?: string
}

/**
 * A restarting informer over `spec.path`. `start` resolves after the first list, or after
 * the first failure (the cache then stays empty and restarts in the background).
 */
export function watchCollection<T extends KubernetesObject> (kc: KubeConfig, spec: WatchSpec): KubeCache<T> {
  let informer: { list: () => readonly T[], stop: () => Promise<void>, start: () => Promise<void> } | undefined
  let synced = false
  let lastError: string | undefined
  let stopped = false
  let restartTimer: NodeJS.Timeout | undefined
  let backoffMs: number = KUBE_WATCH_DEFAULTS.restartMinMs

  const build = async (): Promise<void> => {
    const k8s = await import('@kubernetes/client-node')
    const q = new URLSearchParams()
    if (spec.labelSelector !== undefined) q.set('labelSelector', spec.labelSelector)
    if (spec.fieldSelector !== undefined) q.set('fieldSelector', spec.fieldSelector)
    // A plain LIST through the same configuration the watch uses: works for any kind (pods, IPPools).
    const listFn = async (): Promise<{ items: T[], metadata?: { resourceVersion?: string } }> => {
      const url = new URL(kc.getCurrentCluster()?.server ?? '')
      url.pathname = url.pathname.replace(/\/$/, '') + spec.path
      url.search = q.toString()
      const init = await kc.applyToFetchOptions({})
      const fetchFn = (await import('node-fetch')).default
      const res = await fetchFn(url.href, { ...(init as object), method: 'GET', signal: AbortSignal.timeout(10_000) })
      if (res.status !== 200) throw new Error(`LIST ${spec.path}: HTTP ${res.status}`)
      const body = await res.json() as { items?: T[], metadata?: { resourceVersion?: string } }
      // ListWatch reports a failed list through 'error' and still resolves start(): synced means a list arrived
      synced = true
      lastError = undefined
      return { items: Array.isArray(body.items) ? body.items : [], ...(body.metadata !== undefined ? { metadata: body.metadata } : {}) }
    }
    const lw = new k8s.ListWatch<T>(spec.path, new k8s.Watch(kc), listFn as never, false, spec.labelSelector, spec.fieldSelector)
    lw.on('error', (err: unknown) => {
      lastError = errText(err)
      scheduleRestart()
    })
    lw.on('connect', () => { backoffMs = KUBE_WATCH_DEFAULTS.restartMinMs })
    informer = lw
  }

  const scheduleRestart = (): void => {
    if (stopped || restartTimer !== undefined) return
    const delay = backoffMs
    backoffMs = Math.min(backoffMs * 2, KUBE_WATCH_DEFAULTS.restartMaxMs)
    restartTimer = setTimeout(() => {
      restartTimer = undefined
      void startInformer()
    }, delay)
    restartTimer.unref()
  }

  const startInformer = async (): Promise<void> => {
    if (stopped || informer === undefined) return
    try {
      await informer.start()
    } catch (err) {
      lastError = errText(err)
      scheduleRestart()
    }
  }

  return {
    list: () => informer?.list() ?? [],
    get synced () { return synced },
    get lastError () { return lastError },
    async start () {
      stopped = false
      if (informer === undefined) await build()
      await startInformer()
    },
    async stop () {
      stopped = true
      if (restartTimer !== undefined) clearTimeout(restartTimer)
      restartTimer = undefined
      await informer?.stop()
    },
  }
}

function errText (err: unknown): string {
  if (err instanceof Error) return err.message
  if (err !== null && typeof err === 'object') {
    const o = err as { message?: unknown, statusCode?: unknown, code?: unknown }
    if (typeof o.message === 'string') return o.message
    if (o.statusCode !== undefined || o.code !== undefined) return `HTTP ${String(o.statusCode ?? o.code)}`
  }
  return String(err)
}

/** This node's pods (attribution, hostNetwork exclusion). */
export function watchNodePods (kc: KubeConfig, node: string): KubeCache<PodObject> {
  return watchCollection<PodObject>(kc, { path: '/api/v1/pods', fieldSelector: `spec.nodeName=${node}` })
}

/** Every pod carrying `label` (probe pods, any node). */
export function watchLabelledPods (kc: KubeConfig, label: string): KubeCache<PodObject> {
  return watchCollection<PodObject>(kc, { path: '/api/v1/pods', labelSelector: label })
}

/** Every node (probe peers on cordoned or NotReady nodes are left out). */
export function watchNodes (kc: KubeConfig): KubeCache<NodeObject> {
  return watchCollection<NodeObject>(kc, { path: '/api/v1/nodes' })
}

/** whereabouts IPPools, every namespace. */
export function watchIpPools (kc: KubeConfig): KubeCache<KubernetesObject> {
  return watchCollection<KubernetesObject>(kc, { path: '/apis/whereabouts.cni.cncf.io/v1alpha1/ippools' })
}

/**
 * The watched collections of one agent, shared by its collectors: each is started on first
 * use (the first list is awaited, so a first cycle sees the pods) and stopped with stop().
 */
export class SharedKube {
  readonly #access: KubeConfigSource
  readonly #node: string
  #kc: Promise<KubeConfig> | undefined
  readonly #caches = new Map<string, Promise<KubeCache<KubernetesObject>>>()
  #stopped = false

  constructor (access: KubeConfigSource, node: string) {
    this.#access = access
    this.#node = node
  }

  #api: Promise<KubeApi> | undefined

  #kubeconfig (): Promise<KubeConfig> {
    this.#kc ??= loadKubeConfig(this.#access)
    return this.#kc
  }

  /** direct API calls over one kept-alive connection (collectors/kube-api.ts) */
  api (): Promise<KubeApi> {
    if (this.#stopped) return Promise.reject(new Error('kubernetes access is stopped'))
    if (this.#api === undefined) {
      const p = this.#kubeconfig().then((kc) => new KubeApi(kc))
      p.catch(() => { this.#api = undefined; this.#kc = undefined })
      this.#api = p
    }
    return this.#api
  }

  async #get<T extends KubernetesObject> (key: string, make: (kc: KubeConfig) => KubeCache<T>): Promise<KubeCache<T>> {
    if (this.#stopped) throw new Error('kubernetes watches are stopped')
    let p = this.#caches.get(key)
    if (p === undefined) {
      const kcP = this.#kubeconfig()
      p = (async () => {
        const cache = make(await kcP)
        await cache.start()
        return cache as unknown as KubeCache<KubernetesObject>
      })()
      // a kubeconfig that cannot be loaded is retried on the next use
      p.catch(() => { this.#caches.delete(key); this.#kc = undefined })
      this.#caches.set(key, p)
    }
    return await p as unknown as KubeCache<T>
  }

  /** pods with spec.nodeName == this node */
  nodePods (): Promise<KubeCache<PodObject>> {
    return this.#get('node-pods', (kc) => watchNodePods(kc, this.#node))
  }

  /** pods carrying `label` */
  labelledPods (label: string): Promise<KubeCache<PodObject>> {
    return this.#get(`label:${label}`, (kc) => watchLabelledPods(kc, label))
  }

  /** every node */
  nodes (): Promise<KubeCache<NodeObject>> {
    return this.#get('nodes', (kc) => watchNodes(kc))
  }

  /** any collection by its API path (e.g. /apis/networking.k8s.io/v1/networkpolicies) */
  collection (path: string): Promise<KubeCache<KubernetesObject>> {
    return this.#get(`path:${path}`, (kc) => watchCollection<KubernetesObject>(kc, { path }))
  }

  ipPools (): Promise<KubeCache<KubernetesObject>> {
    return this.#get('ippools', (kc) => watchIpPools(kc))
  }

  async stop (): Promise<void> {
    this.#stopped = true
    const all = [...this.#caches.values()]
    this.#caches.clear()
    const api = this.#api
    this.#api = undefined
    await Promise.allSettled([...all.map(async (p) => { await (await p).stop() }), api?.then((a) => a.close())])
  }
}
