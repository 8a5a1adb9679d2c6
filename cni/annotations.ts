// Pod annotations → what the pod asked for: contract/pod-request.ts's parser, its errors
// turned into the shim's code 101 (NR_CNI_BAD_ANNOTATION).
import { CniError, fail } from './errors.js'
import * as request from '../contract/pod-request.js'

export type { CniRequest, LogicalRequest, NadRequest, PodRequest } from '../contract/pod-request.js'

function asCniError<A extends unknown[], R> (parse: (...args: A) => R): (...args: A) => R {
  return (...args) => {
    try {
      return parse(...args)
    } catch (err) {
      if (err instanceof request.PodRequestError) throw fail('NR_CNI_BAD_ANNOTATION', err.message)
      throw err instanceof CniError ? err : fail('NR_CNI_INTERNAL', (err as Error).message, err)
    }
  }
}

/** Parses the CNI-Genie `cni` list: `"weave,canal"`, `"flannel@eth1,weave"`. Blank → []. Code 101 when malformed. */
export const parseCniAnnotation = asCniError(request.parseCniAnnotation)
/** Parses `[ns/]name[@ifname]` lists or the JSON list form. Code 101 when malformed. */
export const parseNetworksAnnotation = asCniError(request.parseNetworksAnnotation)
/** What the pod's annotations ask for. Code 101 when an annotation is malformed. */
export const readPodRequest = asCniError(request.readPodRequest)
