/**
 * `netrank lab serve-stand-ins` (hidden): one background process hosting the two
 * stand-ins of the lab — the Kubernetes API stand-in (HTTPS, kubeconfig in `<dir>/kube`)
 * and the kubelet stand-in (`/metrics/cadvisor` from the lab pods' real counters, the pods
 * read from the state file at every scrape). Their URLs go to `<dir>/stand-ins.json`.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startKubeApiStandIn } from './stand-ins/kube-api-stand-in.js'
import { startKubeletStandIn } from './stand-ins/kubelet-stand-in.js'
import { sandboxesOf } from './lab-pods.js'

/** What the stand-ins process announces. */
export interface StandInsInfo {
  pid: number
  kubeApiUrl: string
  kubeconfigPath: string
  kubeletUrl: string
}

export function standInsInfoPath (dir: string): string {
  return join(dir, 'stand-ins.json')
}

/** The announcement, or undefined while there is none. */
export function readStandInsInfo (dir: string): StandInsInfo | undefined {
  try {
    return JSON.parse(readFileSync(standInsInfoPath(dir), 'utf8')) as StandInsInfo
  } catch {
    return undefined
  }
}

/** Runs both stand-ins until SIGTERM or SIGINT. */
export async function serveStandIns (dir: string): Promise<void> {
  const kube = await startKubeApiStandIn({ dir: join(dir, 'kube') })
  const kubelet = await startKubeletStandIn({ pods: () => sandboxesOf(dir) })
  const info: StandInsInfo = { pid: process.pid, kubeApiUrl: kube.url, kubeconfigPath: kube.kubeconfigPath, kubeletUrl: kubelet.url }
  const tmp = `${standInsInfoPath(dir)}.${process.pid}.tmp`
  writeFileSync(tmp, JSON.stringify(info, null, 2) + '\n')
  renameSync(tmp, standInsInfoPath(dir))
  process.stdout.write(`${new Date().toISOString()} stand-ins up: kubernetes API ${kube.url}, kubelet ${kubelet.url}\n`)
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  await Promise.allSettled([kube.close(), kubelet.close()])
}
