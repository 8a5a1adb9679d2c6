// Server-side printing for the Kubernetes API stand-in: `kubectl get` asks for a
// meta.k8s.io Table (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io,…`) and prints
// its columns as given; without one it prints only NAME and AGE. Pods get the real server's
// columns (NAME READY STATUS RESTARTS AGE, and IP NODE NOMINATED NODE READINESS GATES for
// -o wide); every other kind gets Name and Age, as a CRD without printer columns does.
import type { KubeObject } from './kube-object-store.js'

/** The Table version an Accept header asks for ('v1' or 'v1beta1'), or undefined for plain JSON. */
export function tableVersionAccepted (accept: string | undefined): 'v1' | 'v1beta1' | undefined {
  for (const range of (accept ?? '').split(',')) {
    const [type = '', ...rawParams] = range.split(';').map((s) => s.trim())
    if (type !== 'application/json') continue
    const p = Object.fromEntries(rawParams.map((kv) => kv.split('=').map((s) => s.trim())))
    if (p.as !== 'Table' || p.g !== 'meta.k8s.io') continue
    if (p.v === 'v1' || p.v === 'v1beta1') return p.v
  }
  return undefined
}

/** A duration the way kubectl's AGE column shows it (apimachinery's HumanDuration). */
export function humanDuration (ms: number): string {
  const seconds = Math.floor(ms / 1000)
  if (seconds < -1) return '<invalid>'
  if (seconds < 0) return '0s'
  if (seconds < 120) return `${seconds}s`
  const minutes = Math.floor(seconds / 60)
  const withRest = (big: number, bigUnit: string, small: number, smallUnit: string): string =>
    small === 0 ? `${big}${bigUnit}` : `${big}${bigUnit}${small}${smallUnit}`
  if (minutes < 10) return withRest(minutes, 'm', seconds % 60, 's')
  if (minutes < 180) return `${minutes}m`
  const hours = Math.floor(minutes / 60)
  if (hours < 8) return withRest(hours, 'h', minutes % 60, 'm')
  if (hours < 48) return `${hours}h`
  const days = Math.floor(hours / 24)
  if (hours < 24 * 8) return withRest(days, 'd', hours % 24, 'h')
  if (hours < 24 * 365 * 2) return `${days}d`
  const years = Math.floor(days / 365)
  if (hours < 24 * 365 * 8) return withRest(years, 'y', days % 365, 'd')
  return `${years}y`
}

interface Column { name: string, type: string, format: string, description: string, priority: number }
type Cell = string | number

const col = (name: string, type: string, description: string, priority = 0, format = ''): Column => ({ name, type, format, description, priority })

const NAME_AGE: Column[] = [
  col('Name', 'string', 'Name must be unique within a namespace.', 0, 'name'),
  col('Age', 'string', 'CreationTimestamp is a timestamp representing the server time when this object was created.'),
]

const POD_COLUMNS: Column[] = [
  NAME_AGE[0] as Column,
  col('Ready', 'string', 'The aggregate readiness state of this pod for accepting traffic.'),
  col('Status', 'string', 'The aggregate status of the containers in this pod.'),
  col('Restarts', 'string', 'The number of times the containers in this pod have been restarted.'),
  NAME_AGE[1] as Column,
  col('IP', 'string', 'IP address allocated to the pod. Routable at least within the cluster.', 1),
  col('Node', 'string', 'NodeName is the name of the node the pod is scheduled on.', 1),
  col('Nominated Node', 'string', 'nominatedNodeName is set when this pod preempts other pods on the node.', 1),
  col('Readiness Gates', 'string', 'If specified, all readiness gates will be evaluated for pod readiness.', 1),
]

interface PodLike {
  metadata: { deletionTimestamp?: unknown }
  spec?: { nodeName?: unknown, containers?: unknown[] }
  status?: { phase?: unknown, reason?: unknown, podIP?: unknown, nominatedNodeName?: unknown, containerStatuses?: Array<{ ready?: unknown, restartCount?: unknown }> }
}

const orNone = (v: unknown): string => (typeof v === 'string' && v !== '' ? v : '<none>')

function podCells (o: KubeObject, age: string): Cell[] {
  const p = o as unknown as PodLike
  const statuses = Array.isArray(p.status?.containerStatuses) ? p.status.containerStatuses : []
  const ready = statuses.filter((c) => c.ready === true).length
  const restarts = statuses.reduce((n, c) => n + (typeof c.restartCount === 'number' ? c.restartCount : 0), 0)
  const total = Array.isArray(p.spec?.containers) ? p.spec.containers.length : 0
  let status = typeof p.status?.reason === 'string' ? p.status.reason : typeof p.status?.phase === 'string' ? p.status.phase : 'Pending'
  if (p.metadata.deletionTimestamp !== undefined) status = 'Terminating'
  return [o.metadata.name, `${ready}/${total}`, status, String(restarts), age, orNone(p.status?.podIP), orNone(p.spec?.nodeName), orNone(p.status?.nominatedNodeName), '<none>']
}

/**
 * The Table of `objects` of `kind`. Each row carries, per `includeObject` (the query
 * parameter), the object's metadata (the default, Metadata: kubectl reads it for -A's
 * NAMESPACE and --show-labels), the whole object (Object) or nothing (None).
 */
export function toTable (kind: string | undefined, objects: KubeObject[], opts: { version: 'v1' | 'v1beta1', resourceVersion: string, now: number, includeObject?: string | null }): object {
  const ageOf = (o: KubeObject): string => {
    const created = Date.parse(o.metadata.creationTimestamp ?? '')
    return Number.isFinite(created) ? humanDuration(opts.now - created) : '<unknown>'
  }
  const isPod = kind === 'Pod'
  return {
    kind: 'Table',
    apiVersion: `meta.k8s.io/${opts.version}`,
    metadata: { resourceVersion: opts.resourceVersion },
    columnDefinitions: isPod ? POD_COLUMNS : NAME_AGE,
    rows: objects.map((o) => ({
      cells: isPod ? podCells(o, ageOf(o)) : [o.metadata.name, ageOf(o)],
      ...(opts.includeObject === 'None'
        ? {}
        : { object: opts.includeObject === 'Object' ? o : { kind: 'PartialObjectMetadata', apiVersion: `meta.k8s.io/${opts.version}`, metadata: o.metadata } }),
    })),
  }
}
