/**
 * RFC 3339 timestamps as Go writes them (cAdvisor, kubelet): up to nanoseconds and a
 * `Z` or ±hh:mm offset. Date.parse is lenient about formats we do not want to accept and
 * engines differ on more than 3 fraction digits, so parse the grammar ourselves.
 */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

/** ms since the epoch (sub-ms digits truncated), or undefined when `s` is not RFC 3339. */
export function parseRfc3339Ms (s: unknown): number | undefined {
  if (typeof s !== 'string') return undefined
  const m = RFC3339.exec(s)
  if (m === null) return undefined
  const [, y, mo, d, h, mi, sec, frac, z, sign, oh, om] = m
  // Go's zero time (0001-01-01) means "not set"; and Date.UTC maps years < 100 to 19xx.
  if (Number(y) < 1970) return undefined
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3))
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), ms)
  if (z === undefined) {
    const off = (Number(oh) * 60 + Number(om)) * 60_000
    t = sign === '+' ? t - off : t + off
  }
  return Number.isFinite(t) ? t : undefined
}
