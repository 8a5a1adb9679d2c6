// CNI-Genie's network policy engine (documented by Genie, never built): a NetworkPolicy
// carrying the annotation `genieNetworkpolicy`, a list of {networkSelector, peerNetworks}
// entries, decides which logical networks may talk to which (docs/isolation.md). This is
// the parser of that annotation — Genie's own sample is neither JSON nor YAML (entries
// without commas between their keys), so its form, JSON and YAML flow lists are read — and
// the allowed matrix, exactly as Genie's five scenarios say. Pure.

export const GENIE_POLICY_ANNOTATION = 'genieNetworkpolicy'

export interface GeniePolicyEntry { networkSelector: string, peerNetworks: string[] }

/** An annotation that does not parse: the message says where. */
export class GeniePolicyError extends Error {
  override readonly name = 'GeniePolicyError'
}

const NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/
const KEYS = ['networkSelector', 'peerNetworks'] as const
const MAX_TEXT = 64 * 1024

function names (raw: unknown, what: string, entry: number): string[] {
  const list = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[\s,]+/) : undefined
  if (list === undefined) throw new GeniePolicyError(`entry ${entry}: ${what} must be a name or a list of names`)
  const out: string[] = []
  for (const item of list) {
    if (typeof item !== 'string') throw new GeniePolicyError(`entry ${entry}: ${what} must hold names, got ${JSON.stringify(item)}`)
    const n = item.trim().replace(/^["']|["']$/g, '')
    if (n === '') continue
    if (!NAME.test(n) || n.length > 253) throw new GeniePolicyError(`entry ${entry}: ${JSON.stringify(n)} in ${what} is not a network name`)
    if (!out.includes(n)) out.push(n)
  }
  return out
}

function entryOf (o: Record<string, unknown>, i: number): GeniePolicyEntry {
  for (const k of Object.keys(o)) if (!(KEYS as readonly string[]).includes(k)) throw new GeniePolicyError(`entry ${i}: unknown key ${JSON.stringify(k)} (networkSelector, peerNetworks)`)
  if (o.networkSelector === undefined) throw new GeniePolicyError(`entry ${i}: networkSelector is missing`)
  const sel = names(o.networkSelector, 'networkSelector', i)
  if (sel.length !== 1) throw new GeniePolicyError(`entry ${i}: networkSelector must name exactly one network, got ${JSON.stringify(o.networkSelector)}`)
  return { networkSelector: sel[0] ?? '', peerNetworks: o.peerNetworks === undefined ? [] : names(o.peerNetworks, 'peerNetworks', i) }
}

/** Genie's form: `[ { networkSelector: net1 <newline> peerNetworks: net2,net3 }, … ]`. */
function parseGenieForm (text: string): Array<Record<string, unknown>> {
  const body = text.trim().replace(/^\[/, '').replace(/\]$/, '')
  const out: Array<Record<string, unknown>> = []
  const re = /\{([^{}]*)\}/g
  let last = 0
  for (let m = re.exec(body); m !== null; m = re.exec(body)) {
    if (body.slice(last, m.index).replace(/[\s,]/g, '') !== '') throw new GeniePolicyError(`unexpected text ${JSON.stringify(body.slice(last, m.index).trim().slice(0, 40))} between entries`)
    last = m.index + m[0].length
    const inner = m[1] ?? ''
    const o: Record<string, unknown> = {}
    const keyRe = /(^|[\s,])([A-Za-z_][A-Za-z0-9_]*)\s*:/g
    const hits: Array<{ key: string, at: number, end: number }> = []
    for (let k = keyRe.exec(inner); k !== null; k = keyRe.exec(inner)) hits.push({ key: k[2] ?? '', at: k.index + (k[1] ?? '').length, end: k.index + k[0].length })
    if (hits.length === 0 && inner.trim() !== '') throw new GeniePolicyError(`entry ${out.length}: no "key: value" in ${JSON.stringify(inner.trim().slice(0, 40))}`)
    if (hits.length > 0 && inner.slice(0, hits[0]?.at).trim() !== '') throw new GeniePolicyError(`entry ${out.length}: unexpected ${JSON.stringify(inner.slice(0, hits[0]?.at).trim().slice(0, 40))}`)
    hits.forEach((h, j) => {
      const value = inner.slice(h.end, hits[j + 1]?.at ?? inner.length).trim().replace(/,$/, '').trim()
      if (h.key in o) throw new GeniePolicyError(`entry ${out.length}: ${h.key} given twice`)
      o[h.key] = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value
    })
    out.push(o)
  }
  if (body.slice(last).replace(/[\s,]/g, '') !== '') throw new GeniePolicyError(`unexpected text ${JSON.stringify(body.slice(last).trim().slice(0, 40))} after the entries`)
  return out
}

/** Parses the annotation's value. Throws {@link GeniePolicyError} naming the problem. */
export function parseGeniePolicy (text: string): GeniePolicyEntry[] {
  if (text.length > MAX_TEXT) throw new GeniePolicyError(`the annotation is ${text.length} bytes (at most ${MAX_TEXT})`)
  const t = text.trim()
  if (!t.startsWith('[') || !t.endsWith(']')) throw new GeniePolicyError('the annotation must be a list: [ {networkSelector: …, peerNetworks: …}, … ]')
  let items: unknown
  try { items = JSON.parse(t) } catch { items = parseGenieForm(t) }
  if (!Array.isArray(items)) throw new GeniePolicyError('the annotation must be a list')
  return items.map((it: unknown, i) => {
    if (typeof it !== 'object' || it === null || Array.isArray(it)) throw new GeniePolicyError(`entry ${i} is not an object`)
    return entryOf(it as Record<string, unknown>, i)
  })
}

/** Who may talk to whom among `networks`, from all entries in force. */
export interface PolicyMatrix {
  networks: string[]
  /** allowed[i][j]: network i and network j may communicate (symmetric; true on the diagonal) */
  allowed: boolean[][]
  /** each confined network and the peers its entries list (a peer that does not exist is kept: "no peer") */
  confined: Record<string, string[]>
}

/**
 * Genie's semantics: with no entry naming it, a network talks to every network that is not
 * confined away from it. An entry `{networkSelector: A, peerNetworks: [B…]}` confines A to
 * the union of the peers of all its entries, both directions: A and X communicate only if X
 * is among A's peers — and, when X is confined too, A among X's. A peer that does not
 * exist is no peer (scenario 4: net1 → net4 before net4 exists talks to nobody).
 */
export function allowedMatrix (networks: readonly string[], entries: readonly GeniePolicyEntry[]): PolicyMatrix {
  const nets = [...new Set(networks)].sort()
  const confined: Record<string, string[]> = {}
  for (const e of entries) {
    const peers = confined[e.networkSelector] ?? []
    for (const p of e.peerNetworks) if (!peers.includes(p)) peers.push(p)
    confined[e.networkSelector] = peers
  }
  const ok = (a: string, b: string): boolean => {
    if (a === b) return true
    const pa = confined[a]
    const pb = confined[b]
    if (pa !== undefined && !pa.includes(b)) return false
    if (pb !== undefined && !pb.includes(a)) return false
    return true
  }
  return { networks: nets, allowed: nets.map((a) => nets.map((b) => ok(a, b))), confined }
}

/** The pairs (a < b) that may not communicate. */
export function deniedPairs (m: PolicyMatrix): Array<[string, string]> {
  const out: Array<[string, string]> = []
  m.networks.forEach((a, i) => m.networks.forEach((b, j) => { if (i < j && m.allowed[i]?.[j] === false) out.push([a, b]) }))
  return out
}
