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
    stale: { type: 'boolean', description: 'true when older than staleAfterMs: the selector scores its pessimistic prior instead' },
  },
} as const

const criterionScore = {
  type: 'object',
  required: ['score', 'weight', 'band'],
  properties: {
    score: { type: 'number', description: 'the value function\'s result, 0–1 (utilisation −1–1: below 0 when oversubscribed)' },
    weight: { type: 'number', description: 'its share of the profile, after criteria no network has data for dropped out' },
    band: { type: 'number', description: '± score units from the inputs\' uncertainty (0 for a prior)' },
    value: { type: 'number', description: 'the input scored: ρ of the tighter direction, seconds, bits/s, 0–1 occupancy or failure ratio, cost per GiB; absent when there was none (utilisation without capacity or traffic)' },
    prior: { type: 'string', description: 'set when a pessimistic prior stood in for a missing or stale KPI' },
  },
} as const

const demandSchema = {
  type: 'object',
  required: ['rxBps', 'txBps', 'source'],
  properties: {
    rxBps: { type: 'number' },
    txBps: { type: 'number' },
    source: { type: 'string', description: "'annotation', 'query' or 'profile' (the profile's default)" },
  },
} as const

export const rankResponseSchema = {
  type: 'object',
  required: ['node', 'profile', 'generatedAt', 'demand', 'absent', 'notes', 'plugins'],
  properties: {
    node: { type: 'string' },
    profile: { type: 'string' },
    generatedAt: { type: 'string', format: 'date-time' },
    demand: { ...demandSchema, description: 'the pod demand ranked for (expectedBandwidth, else the profile\'s default)' },
    absent: { type: 'array', items: { type: 'string' }, description: 'criteria of the profile that no network has data for: left out for all' },
    notes: { type: 'array', items: { type: 'string' }, description: 'said once for the whole ranking' },
    unranked: {
      type: 'array',
      description: 'networks with measured KPIs that are not in the catalog — CNI-Genie logical networks (their pool slice and attributed traffic), NAD networks: shown, never ranked',
      items: {
        type: 'object',
        required: ['network', 'kpis'],
        properties: {
          network: { type: 'string' },
          kpis: { type: 'object', additionalProperties: { type: 'object', required: ['value', 'ageSeconds', 'stale', 'source'], properties: { value: { type: 'number' }, ageSeconds: { type: 'number' }, stale: { type: 'boolean' }, source: { type: 'string' } } } },
        },
      },
    },
    plugins: {
      type: 'array',
      description: 'best first',
      items: {
        type: 'object',
        required: ['plugin', 'rank', 'score', 'band', 'coverage', 'eligible', 'predicted', 'reasons', 'kpis', 'criteria'],
        properties: {
          plugin: { type: 'string' },
          rank: { type: 'integer', description: '1 is the best' },
          score: { type: 'number', description: 'Σ weight × criterion score, −1–1 (0 when ineligible); independent of the other networks' },
          band: { type: 'number', description: '± score units: scores closer than their bands are a tie' },
          coverage: { type: 'number', description: 'share of the profile\'s weight backed by fresh measurements, 0–1' },
          eligible: { type: 'boolean' },
          predicted: {
            type: 'object',
            description: 'after placing the pod\'s demand: (measured + phantom + demand) / capacity per direction, and the headroom left',
            properties: { rxUtilisation: { type: 'number' }, txUtilisation: { type: 'number' }, headroomBps: { type: 'number' } },
          },
          reasons: { type: 'array', items: { type: 'string' } },
          kpis: { type: 'object', additionalProperties: kpiValue, description: 'per KPI name (rxBps, capacityBps, latencySeconds …)' },
          criteria: { type: 'object', additionalProperties: criterionScore, description: 'per criterion (utilisation, latency, capacity, occupancy, probeHealth, cost)' },
        },
      },
    },
  },
} as const

export const profileQuerySchema = {
  type: 'object',
  properties: {
    profile: { type: 'string', minLength: 1, maxLength: 63, description: 'a built-in or operator profile; default from config' },
    expectedBandwidth: { type: 'string', minLength: 1, maxLength: 256, description: 'rank for a pod of this demand: 200M both ways, or {"rx":"1G","tx":"100M"}' },
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
    expectedBandwidth: { type: 'string', maxLength: 256, description: 'the pod\'s netrank.io/expected-bandwidth, as written; an invalid one is ignored with a reason' },
  },
} as const

export const selectResponseSchema = {
  type: 'object',
  required: ['plugins', 'reason', 'decisionId', 'profile'],
  properties: {
    plugins: { type: 'array', items: { type: 'string' }, description: 'the chosen network (one)' },
    reason: { type: 'string', description: "'smart'; 'explore' when an under-measured network got the pod (at most 1 in exploreEvery); 'no-fresh-kpi' when no network has a fresh measurement the profile weighs (ranking order on priors alone)" },
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
    leader: { type: 'string', description: 'the leader after hysteresis, before the near-best choice' },
    reason: { type: 'string' },
    demand: demandSchema,
    scores: { type: 'object', additionalProperties: { type: 'number' } },
    because: { type: 'array', items: { type: 'string' }, description: 'the selector\'s explanation (demand, hysteresis, the near-best choice)' },
  },
} as const

/** A Kubernetes object name or namespace. */
const k8sName = { type: 'string', minLength: 1, maxLength: 253 } as const

const planPodSchema = {
  type: 'object',
  required: ['namespace', 'name', 'uid'],
  properties: {
    namespace: k8sName,
    name: k8sName,
    uid: { type: 'string', maxLength: 128, description: 'K8S_POD_UID; empty when the runtime gave none' },
  },
} as const

export const planBodySchema = {
  type: 'object',
  required: ['containerId', 'ifname', 'pod', 'smartByDefault'],
  properties: {
    containerId: { type: 'string', minLength: 1, maxLength: 256 },
    ifname: { type: 'string', minLength: 1, maxLength: 15 },
    pod: planPodSchema,
    smartByDefault: { type: 'boolean', description: 'the shim conf has no defaultPlugins: a pod without a `cni` annotation gets smart selection' },
  },
} as const

export const planResponseSchema = {
  type: 'object',
  required: ['pod', 'podSource', 'nads'],
  properties: {
    pod: {
      type: 'object',
      required: ['found'],
      properties: {
        found: { type: 'boolean' },
        uid: { type: 'string' },
        annotations: { type: 'object', additionalProperties: { type: 'string' } },
      },
    },
    podSource: { type: 'string', enum: ['cache', 'api'], description: 'the informer of this node\'s pods, or a GET on a cache miss' },
    nads: {
      type: 'array',
      items: {
        type: 'object',
        required: ['namespace', 'name', 'object'],
        properties: {
          namespace: { type: 'string' },
          name: { type: 'string' },
          object: { type: ['object', 'null'], additionalProperties: true, description: 'the NetworkAttachmentDefinition; null when it does not exist' },
        },
      },
    },
    selection: {
      type: 'object',
      description: 'when smart selection applies: the /v1/select answer, or the agent\'s error (the shim falls back to the default network)',
      required: ['ok'],
      properties: {
        ok: { type: 'boolean' },
        answer: {
          type: 'object',
          properties: { plugins: { type: 'array', items: { type: 'string' } }, reason: { type: 'string' }, decisionId: { type: 'string' } },
        },
        code: { type: 'string' },
        message: { type: 'string' },
      },
    },
  },
} as const

export const podStatusBodySchema = {
  type: 'object',
  required: ['namespace', 'name', 'uid', 'annotations'],
  properties: {
    namespace: k8sName,
    name: k8sName,
    uid: { type: 'string', maxLength: 128, description: 'precondition: the patch is refused by the API for a pod of that name with another uid' },
    annotations: { type: 'object', additionalProperties: { type: 'string', maxLength: 262144 }, maxProperties: 16 },
  },
} as const

export const podStatusResponseSchema = {
  type: 'object',
  required: ['queued'],
  properties: { queued: { type: 'boolean' } },
} as const
