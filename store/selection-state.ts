/**
 * What /v1/select remembers between calls: recent placements (burst spreading), the
 * previous leader per profile (hysteresis) and the decision sequence. Restored from the
 * audit on start, so a restart neither resets the sequence nor forgets a burst in progress.
 */
import type { Placement } from '../selector/types.js'
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
  private readonly leaders = new Map<string, string>()
  private seq = 0

  constructor (opts: SelectionStateOptions) {
    this.opts = opts
  }

  /** Replays audited decisions (oldest first). */
  restore (records: readonly DecisionRecord[], nowMs: number): void {
    for (const r of records) {
      this.seq = Math.max(this.seq, r.seq)
      this.leaders.set(r.profile, r.leader ?? r.plugin)
      this.placements.push({ plugin: r.plugin, atMs: Date.parse(r.at) })
    }
    this.prune(nowMs)
  }

  /** The next decision sequence number (1, 2, …). */
  nextSeq (): number {
    return ++this.seq
  }

  recent (nowMs: number): readonly Placement[] {
    this.prune(nowMs)
    return this.placements
  }

  previousLeader (profile: string): string | undefined {
    return this.leaders.get(profile)
  }

  record (profile: string, leader: string | undefined, placement: Placement): void {
    if (leader !== undefined) this.leaders.set(profile, leader)
    this.placements.push(placement)
    this.prune(placement.atMs)
  }

  private prune (nowMs: number): void {
    const from = nowMs - this.opts.spreadWindowMs
    let drop = 0
    while (drop < this.placements.length && (this.placements[drop]?.atMs ?? 0) < from) drop++
    const over = this.placements.length - drop - this.opts.maxPlacements
    if (over > 0) drop += over
    if (drop > 0) this.placements = this.placements.slice(drop)
  }
}
