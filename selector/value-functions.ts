// The absolute value functions: each maps one measured quantity onto a score, anchored to
// the operator's targets, never to the other plugins in the set (so an unrelated network
// joining or leaving cannot reorder two others). docs/selection.md draws them.

/**
 * Utilisation ρ (after placing the pod) → 1 − ρ while the network has room, 1/ρ − 1 once
 * it is oversubscribed: 1 idle, 0 full, −0.5 at twice its capacity, → −1 as ρ → ∞.
 * Continuous, strictly falling, bounded.
 */
export function utilisationValue (rho: number): number {
  if (Number.isNaN(rho) || rho === Infinity) return -1
  if (rho <= 0) return 1
  return rho <= 1 ? 1 - rho : 1 / rho - 1
}

/** Idle RTT L against the target L0: L0 / (L0 + L); 1 at 0, 0.5 at L0, → 0. */
export function latencyValue (seconds: number, targetSeconds: number): number {
  return targetSeconds / (targetSeconds + Math.max(0, seconds))
}

/** Capacity C against the target C0: C / (C + C0); 0 at 0, 0.5 at C0, → 1. */
export function capacityValue (bps: number, targetBps: number): number {
  const c = Math.max(0, bps)
  return c / (c + targetBps)
}

/**
 * Pool occupancy: 1 − (occ / max)², 0 at maxOccupancy. Convex penalty: going from 40 % to
 * 50 % costs 9× what 0 % → 10 % does, as the risk of exhaustion grows.
 */
export function occupancyValue (occupancy: number, maxOccupancy: number): number {
  const x = Math.min(1, Math.max(0, occupancy) / maxOccupancy)
  return 1 - x * x
}

/** Probe health: 1 − failure ratio. */
export function probeHealthValue (failureRatio: number): number {
  return 1 - Math.min(1, Math.max(0, failureRatio))
}

/** Cost c against the reference price c0: c0 / (c0 + c); 1 free, 0.5 at the reference. */
export function costValue (perGiB: number, referencePerGiB: number): number {
  return referencePerGiB / (referencePerGiB + Math.max(0, perGiB))
}
