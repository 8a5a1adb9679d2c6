// How numbers appear in reasons: short, with units, stable (tests match them).

/** 0.95 → '95%', 0.9499 → '95%', 0.949 → '94.9%' */
export function pct (ratio: number): string {
  return `${round(ratio * 100, 10)}%`
}

// Math.round over a power of ten: the same digits as +x.toFixed(d) here, at a fraction of
// its cost (reasons are built on every /v1/select); −0 prints as 0 either way.
function round (x: number, scale: number): number {
  return Math.round(x * scale) / scale
}

/** 95_000 ms → '95 s', 1_500 ms → '1.5 s' */
export function seconds (ms: number): string {
  const s = ms / 1000
  return `${+s.toFixed(s < 10 ? 1 : 0)} s`
}

/** A weight or score in reasons: 3 decimals, no trailing zeros (0.25, 0.333). */
export function num (x: number): string {
  return String(round(x, 1000))
}

/** Bits per second with a unit: 956_000_000 → '956 Mbit/s', 1.45e9 → '1.45 Gbit/s', −4e8 → '−400 Mbit/s' */
export function bps (v: number): string {
  const a = Math.abs(v)
  const [div, unit] = a >= 1e9 ? [1e9, 'Gbit/s'] : a >= 1e6 ? [1e6, 'Mbit/s'] : a >= 1e3 ? [1e3, 'kbit/s'] : [1, 'bit/s']
  const x = a / div
  // three significant digits, as toPrecision(3), without its cost
  return `${v < 0 ? '−' : ''}${round(x, x < 10 ? 100 : x < 100 ? 10 : 1)} ${unit}`
}
