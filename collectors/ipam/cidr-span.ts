/** A CIDR as contract/logical-network.ts's CidrSpan (the agent's side; the shim has cni/cidr-span.ts). */
import type { CidrSpan } from '../../contract/logical-network.js'
import { cidrLast, parseCidr } from './ip-range.js'

export function cidrSpan (text: string): CidrSpan | undefined {
  try {
    const c = parseCidr(text.trim())
    return { family: c.family, first: c.network, last: cidrLast(c), text: text.trim() }
  } catch {
    return undefined
  }
}
