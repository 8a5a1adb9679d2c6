// Who the pod is (from the K8S_* CNI_ARGS a Kubernetes runtime sets) and access to
// its API object. Without a kubeconfig or without pod args the shim works from its
// conf alone (no annotations are read, none are written).
import type { CniEnv } from './env.js'
import { KubeClient, loadKubeconfig } from './kube-client.js'
import type { ShimConf } from './shim-conf.js'

/** The pod named by CNI_ARGS, or null when the runtime gave none. */
export interface PodRef { namespace: string, name: string, uid: string }

/** K8S_POD_NAMESPACE / K8S_POD_NAME / K8S_POD_UID from CNI_ARGS. */
export function podFromArgs (env: CniEnv): PodRef | null {
  const namespace = env.args.K8S_POD_NAMESPACE ?? ''
  const name = env.args.K8S_POD_NAME ?? ''
  if (namespace === '' || name === '') return null
  return { namespace, name, uid: env.args.K8S_POD_UID ?? '' }
}

/** A client when the conf names a kubeconfig (code 106 when it is unusable), else undefined. */
export async function kubeClientFor (conf: ShimConf): Promise<KubeClient | undefined> {
  if (conf.kubeconfig === undefined) return undefined
  const access = await loadKubeconfig(conf.kubeconfig, { allowHttp: conf.allowInsecureApi })
  return await KubeClient.create(access, { budgetMs: conf.apiBudgetMs })
}
