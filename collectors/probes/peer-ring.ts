/**
 * Which probe pods a node's client measures against: a hash ring per (plugin, epoch).
 *
 * Every agent sees the same probe pods of a plugin, places each on a ring at
 * sha256(plugin, epoch, namespace/name) and takes as its peers the next k members after its
 * own client, those on other nodes first (a member on its own node only when there are
 * fewer than k remote ones: the lab). With one probe pod per node each server is the peer
 * of exactly k clients (≤ k + local fill), and when a node leaves only the k members before
 * it on the ring change one peer each. The epoch is floor(now / rotationMs): the ring is
 * shuffled every rotation, so no pair of nodes stands in for the network for long.
 *
 * Pure: no I/O; the same inputs give the same peers on every node.
 */
import { createHash } from 'node:crypto'

export interface RingMember {
  /** unique, the same on every node (namespace/name of the probe pod) */
  key: string
  node: string | undefined
}

export interface RingOptions {
  plugin: string
  /** floor(nowMs / rotationMs) */
  epoch: number
  /** peers per client */
  k: number
}

/** The ring position of a member: the first 13 hex digits of sha256 (exact as a number). */
export function ringPosition (plugin: string, epoch: number, key: string): number {
  return Number.parseInt(createHash('sha256').update(`${plugin}\u0000${epoch}\u0000${key}`).digest('hex').slice(0, 13), 16)
}

/**
 * The up to k peers of `self` (which must be one of `members`), in ring order after it:
 * members on other nodes than self's first, then members on self's node.
 */
export function ringPeers<T extends RingMember> (members: readonly T[], self: T, o: RingOptions): T[] {
  const k = Math.max(1, Math.floor(o.k))
  const placed = members
    .map((m) => ({ m, at: ringPosition(o.plugin, o.epoch, m.key) }))
    .sort((a, b) => a.at - b.at || (a.m.key < b.m.key ? -1 : a.m.key > b.m.key ? 1 : 0))
  const start = placed.findIndex((x) => x.m.key === self.key)
  if (start < 0) throw new Error(`ringPeers: ${self.key} is not on the ring of ${o.plugin}`)
  const remote: T[] = []
  const local: T[] = []
  for (let i = 1; i < placed.length && remote.length < k; i++) {
    const m = (placed[(start + i) % placed.length] as { m: T }).m
    if (m.node !== undefined && m.node === self.node) local.push(m)
    else remote.push(m)
  }
  return [...remote, ...local].slice(0, k)
}
