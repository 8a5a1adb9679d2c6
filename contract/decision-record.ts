// A selection decision as the agent's audit log stores it (one JSON line each) and as
// GET /v1/decisions returns it (docs/api.md).

/** One decision of POST /v1/select. */
export interface DecisionRecord {
  /** strictly increasing per node, survives restarts; the /v1/decisions cursor */
  seq: number
  decisionId: string
  /** ISO 8601 */
  at: string
  namespace: string
  pod: string
  podUid: string | null
  containerId: string
  ifname: string | null
  profile: string
  plugin: string
  /** the leader after hysteresis, before the near-best choice (restores hysteresis after a restart) */
  leader?: string
  reason: string
  /** the demand the decision placed (phantom load after a restart); absent in older records */
  demand?: { rxBps: number, txBps: number, source: string }
  /** every plugin's score under the profile at decision time, −1–1 */
  scores: Record<string, number>
  /** the selector's explanation: hysteresis and burst spreading, in words */
  because?: string[]
}
