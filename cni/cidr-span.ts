// A CIDR as contract/logical-network.ts's CidrSpan, for the shim (which may not import the
// agent's collectors/ipam/ip-range.ts). Parsing is ipaddr.js's.
import ipaddr from 'ipaddr.js'
import type { CidrSpan } from '../contract/logical-network.js'

export function cidrSpan (text: string): CidrSpan | undefined {
  const t = text.trim()
  if (t.includes('%')) return undefined
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number]
  try {
    parsed = ipaddr.parseCIDR(t)
  } catch {
    return undefined
  }
  const [addr, prefix] = parsed
  if (addr.kind() === 'ipv4' && !ipaddr.IPv4.isValidFourPartDecimal(t.split('/')[0] ?? '')) return undefined
  const bytes = addr.toByteArray()
  let v = 0n
  for (const b of bytes) v = (v << 8n) | BigInt(b)
  const bits = BigInt(bytes.length * 8)
  const host = (1n << (bits - BigInt(prefix))) - 1n
  const first = v & ~host & ((1n << bits) - 1n)
  return { family: bytes.length === 4 ? 4 : 6, first, last: first | host, text: t }
}
