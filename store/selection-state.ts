/**
 * What /v1/select remembers between calls: recent placements with their demand (phantom
 * load), each profile's hysteresis state, the placements since the last exploration and the
 * decision sequence. Restored from the audit on start, so a restart neither resets the
 * sequence nor forgets a burst in progress.
 */
import type { LeaderState, Placement } from '../selector/types.js'
import type { DecisionRecord } from '../contract/decision-record.js'

export interface SelectionStateOptions {
  /** placements older than this are dropped, ms */
  spreadWindowMs: number
  /** hard cap on remembered placements, whatever the window */
  maxPlacements: number
}

/** Mutable selection memory of one agent. */
export class SelectionState {
  private readonly opts: SelectionStateOptions
  private placements: Placement[] = []
  private readonly leaders = new Map<string, LeaderState>()
  private seq = 0
  private explore = 0
  private changes = 0

  constructor (opts: SelectionStateOptions) {
    this.opts = opts
  }

  /** Replays audited decisions (oldest first). */
  restore (records: readonly DecisionRecord[], nowMs: number): void {
    for (const r of records) {
      const atMs = Date.parse(r.at)
      this.seq = Math.max(this.seq, r.seq)
      this.leaders.set(r.profile, { leader: r.leader ?? r.plugin, leads: 0, snapshotAtMs: atMs })
      this.placements.push({ plugin: r.plugin, atMs, rxBps: r.demand?.rxBps ?? 0, txBps: r.demand?.txBps ?? 0 })
      this.explore = r.reason === 'explore' ? 0 : this.explore + 1
    }
    this.changes++
    this.prune(nowMs)
  }

  /** The next decision sequence number (1, 2, …). */
  nextSeq (): number {
    this.changes++
    return ++this.seq
  }

  /** The number nextSeq() will return, without taking it. */
  peekSeq (): number {
    return this.seq + 1
  }

  /** Changes whenever recent() or a leader would: rankings that include phantom load are reused only while it stays. */
  version (): number {
    return this.changes
  }

  recent (nowMs: number): readonly Placement[] {
    this.prune(nowMs)
    return this.placements
  }

  leaderState (profile: string): LeaderState | undefined {
    return this.leaders.get(profile)
  }

  /** Placements since the last one that explored. */
  sinceExplore (): number {
    return this.explore
  }

  record (profile: string, leader: LeaderState | undefined, placement: Placement, explored = false): void {
    if (leader !== undefined) this.leaders.set(profile, leader)
    this.placements.push(placement)
    this.explore = explored ? 0 : this.explore + 1
    this.changes++
    this.prune(placement.atMs)
  }

  private prune (nowMs: number): void {
    const from = nowMs - this.opts.spreadWindowMs
    let drop = 0
    while (drop < this.placements.length && (this.placements[drop]?.atMs ?? 0) < from) drop++
    const over = this.placements.length - drop - this.opts.maxPlacements
    if (over > 0) drop += over
    if (drop > 0) {
      this.placements = this.placements.slice(drop)
      this.changes++
    }
  }
}
