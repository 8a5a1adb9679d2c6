/**
 * JSON schemas shared by the routes: requests are validated with them, responses
 * serialised with them, and @fastify/swagger publishes them as the OpenAPI document.
 */
export const errorSchema = {
  type: 'object',
  description: 'Every error answer.',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', description: 'stable code from the error registry (agent/errors.ts)' },
        message: { type: 'string', description: 'what went wrong, naming the field or the valid values' },
      },
    },
  },
} as const

const kpiValue = {
  type: 'object',
  required: ['value', 'ageSeconds', 'samples', 'stale'],
  properties: {
    value: { type: 'number', description: 'in the unit the KPI name says (bits/s, seconds, count, 0–1)' },
    ageSeconds: { type: 'number', description: 'age of the newest sample, seconds' },
    samples: { type: 'integer', description: 'samples in the window that made the value' },
    stale: { type: 'boolean', description: 'true when older than staleAfterMs: the KPI did not count' },
  },
} as const

const perKpiNumber = {
  type: 'object',
  additionalProperties: { type: 'number' },
} as const

export const rankResponseSchema = {
  type: 'object',
  required: ['node', 'profile', 'generatedAt', 'plugins'],
  properties: {
    node: { type: 'string' },
    profile: { type: 'string' },
    generatedAt: { type: 'string', format: 'date-time' },
    plugins: {
      type: 'array',
      description: 'best first',
      items: {
        type: 'object',
        required: ['plugin', 'rank', 'score', 'eligible', 'reasons', 'kpis', 'contributions', 'effectiveWeights'],
        properties: {
          plugin: { type: 'string' },
          rank: { type: 'integer', description: '1 is the best' },
          score: { type: 'number', description: 'weighted score 0–1 (0 when ineligible or without data)' },
          eligible: { type: 'boolean' },
          reasons: { type: 'array', items: { type: 'string' } },
          kpis: { type: 'object', additionalProperties: kpiValue, description: 'per KPI name (rxBps, capacityBps, latencySeconds …)' },
          contributions: { ...perKpiNumber, description: 'weight × normalised score per KPI that counted' },
          effectiveWeights: { ...perKpiNumber, description: 'weights used after stale or missing KPIs dropped out' },
        },
      },
    },
  },
} as const

export const profileQuerySchema = {
  type: 'object',
  properties: {
    profile: { type: 'string', minLength: 1, maxLength: 63, description: 'a built-in or operator profile; default from config' },
  },
} as const

export const selectBodySchema = {
  type: 'object',
  required: ['namespace', 'pod', 'containerId'],
  properties: {
    namespace: { type: 'string', minLength: 1, maxLength: 253 },
    pod: { type: 'string', minLength: 1, maxLength: 253 },
    podUid: { type: 'string', maxLength: 128 },
    containerId: { type: 'string', minLength: 1, maxLength: 256 },
    ifname: { type: 'string', minLength: 1, maxLength: 15 },
    profile: { type: 'string', minLength: 1, maxLength: 63 },
  },
} as const

export const selectResponseSchema = {
  type: 'object',
  required: ['plugins', 'reason', 'decisionId', 'profile'],
  properties: {
    plugins: { type: 'array', items: { type: 'string' }, description: 'the chosen network (one)' },
    reason: { type: 'string', description: "'smart'; 'no-fresh-kpi' when no plugin has a fresh KPI and catalog order decided" },
    decisionId: { type: 'string' },
    profile: { type: 'string' },
  },
} as const

export const decisionSchema = {
  type: 'object',
  required: ['seq', 'decisionId', 'at', 'namespace', 'pod', 'podUid', 'containerId', 'ifname', 'profile', 'plugin', 'reason', 'scores'],
  properties: {
    seq: { type: 'integer' },
    decisionId: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    namespace: { type: 'string' },
    pod: { type: 'string' },
    podUid: { type: ['string', 'null'] },
    containerId: { type: 'string' },
    ifname: { type: ['string', 'null'] },
    profile: { type: 'string' },
    plugin: { type: 'string' },
    leader: { type: 'string', description: 'the leader after hysteresis, before burst spreading' },
    reason: { type: 'string' },
    scores: { type: 'object', additionalProperties: { type: 'number' } },
    because: { type: 'array', items: { type: 'string' }, description: 'the selector\'s explanation (hysteresis, burst spreading)' },
  },
} as const
