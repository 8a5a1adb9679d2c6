/**
 * A small client for the lab's Kubernetes API stand-in: the token and CA from its
 * kubeconfig (the inline form the stand-in writes), JSON over node:https.
 */
import { readFileSync } from 'node:fs'
import { request } from 'node:https'

const TIMEOUT_MS = 5_000 // 5 s: the stand-in answers in ms

interface Target { server: string, ca: Buffer, token: string }

function targetOf (kubeconfigPath: string): Target {
  const kc = JSON.parse(readFileSync(kubeconfigPath, 'utf8')) as {
    clusters?: Array<{ cluster?: { server?: string, 'certificate-authority-data'?: string } }>
    users?: Array<{ user?: { token?: string } }>
  }
  const cluster = kc.clusters?.[0]?.cluster
  const token = kc.users?.[0]?.user?.token
  if (cluster?.server === undefined || cluster['certificate-authority-data'] === undefined || token === undefined) {
    throw new Error(`${kubeconfigPath} is not the stand-in's kubeconfig (server, inline CA and token expected)`)
  }
  return { server: cluster.server, ca: Buffer.from(cluster['certificate-authority-data'], 'base64'), token }
}

/** An answer of the stand-in; `body` is parsed JSON. */
export interface KubeAnswer { status: number, body: unknown }

/** One request; rejects only when the stand-in cannot be reached. */
export async function kubeRequest (kubeconfigPath: string, method: string, path: string, body?: unknown): Promise<KubeAnswer> {
  const t = targetOf(kubeconfigPath)
  const url = new URL(path, t.server)
  const payload = body === undefined ? undefined : JSON.stringify(body)
  return await new Promise<KubeAnswer>((resolve, reject) => {
    const req = request(url, {
      method,
      ca: t.ca,
      headers: {
        authorization: `Bearer ${t.token}`,
        accept: 'application/json',
        ...(payload === undefined ? {} : { 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json', 'content-length': Buffer.byteLength(payload) }),
      },
      timeout: TIMEOUT_MS,
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        let parsed: unknown = text
        try { parsed = JSON.parse(text) } catch { /* keep the text */ }
        resolve({ status: res.statusCode ?? 0, body: parsed })
      })
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`the API stand-in at ${t.server} did not answer within ${TIMEOUT_MS / 1000} s`)))
    req.on('error', (err) => reject(new Error(`cannot reach the API stand-in at ${t.server}: ${err.message}`)))
    req.end(payload)
  })
}

function podPath (namespace: string, name?: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods${name === undefined ? '' : `/${encodeURIComponent(name)}`}`
}

function statusMessage (a: KubeAnswer): string {
  const m = (a.body as { message?: unknown } | null)?.message
  return typeof m === 'string' ? m : JSON.stringify(a.body).slice(0, 200)
}

/** A pod object as the lab reads it. */
export interface LabKubePod {
  metadata: { name: string, namespace: string, uid?: string, annotations?: Record<string, string>, labels?: Record<string, string> }
  spec?: { nodeName?: string }
}

/** Creates a pod object; throws with the stand-in's message (409 when it exists). */
export async function createPod (kubeconfigPath: string, pod: LabKubePod): Promise<LabKubePod> {
  const a = await kubeRequest(kubeconfigPath, 'POST', podPath(pod.metadata.namespace), { apiVersion: 'v1', kind: 'Pod', ...pod })
  if (a.status !== 201 && a.status !== 200) throw new Error(`creating pod ${pod.metadata.namespace}/${pod.metadata.name}: HTTP ${a.status}: ${statusMessage(a)}`)
  return a.body as LabKubePod
}

/** The pod, or undefined on 404. */
export async function getPod (kubeconfigPath: string, namespace: string, name: string): Promise<LabKubePod | undefined> {
  const a = await kubeRequest(kubeconfigPath, 'GET', podPath(namespace, name))
  if (a.status === 404) return undefined
  if (a.status !== 200) throw new Error(`reading pod ${namespace}/${name}: HTTP ${a.status}: ${statusMessage(a)}`)
  return a.body as LabKubePod
}

/** Deletes the pod; a pod already gone is fine. */
export async function deletePod (kubeconfigPath: string, namespace: string, name: string): Promise<void> {
  const a = await kubeRequest(kubeconfigPath, 'DELETE', podPath(namespace, name))
  if (a.status !== 200 && a.status !== 404) throw new Error(`deleting pod ${namespace}/${name}: HTTP ${a.status}: ${statusMessage(a)}`)
}
