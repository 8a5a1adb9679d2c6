// How numbers appear in reasons: short, with units, stable (tests match them).

/** 0.95 → '95%', 0.9499 → '95%', 0.949 → '94.9%' */
export function pct (ratio: number): string {
  return `${+(ratio * 100).toFixed(1)}%`
}

/** 95_000 ms → '95 s', 1_500 ms → '1.5 s' */
export function seconds (ms: number): string {
  const s = ms / 1000
  return `${+s.toFixed(s < 10 ? 1 : 0)} s`
}

/** A weight or score in reasons: 3 decimals, no trailing zeros (0.25, 0.333). */
export function num (x: number): string {
  return String(+x.toFixed(3))
}
