/**
 * JSON schema of the agent config file (DESIGN §3.4). Structure and types only:
 * cross-field rules (unique names, known plugins, profiles) live in config.ts.
 */
import { KPI_NAMES } from '../selector/types.js'

const nonNegative = { type: 'number', minimum: 0 } as const
const weights = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(KPI_NAMES.map((k) => [k, nonNegative])),
} as const

const posInt = (minimum: number) => ({ type: 'integer', minimum } as const)

// The live collectors (docs/collectors.md). Every field is optional: DEFAULTS fills the
// rest, so `{ enabled: true }` is a complete section and `{ enabled: false }` stays minimal.
const cadvisorCollector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    source: { type: 'string', enum: ['kubelet-metrics', 'node-proxy-metrics', 'kubelet-summary', 'cadvisor-v1', 'cadvisor-v2'] },
    url: { type: 'string', minLength: 1, pattern: '^https?://' },
    tokenFile: { type: 'string', minLength: 1 },
    caFile: { type: 'string', minLength: 1 },
    insecureSkipTlsVerify: { type: 'boolean' },
    intervalMs: posInt(100),
    windowMs: posInt(1000),
    timeoutMs: posInt(10),
    maxResponseBytes: posInt(1024),
  },
} as const

const probesCollector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    podLabel: { type: 'string', minLength: 1, maxLength: 317 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    iperf3: {
      type: 'object',
      additionalProperties: false,
      properties: {
        intervalMs: posInt(1000),
        durationSeconds: { type: 'integer', minimum: 1, maximum: 60 },
        omitSeconds: { type: 'integer', minimum: 0, maximum: 30 },
        timeoutMs: posInt(1000),
        jitterRatio: { type: 'number', minimum: 0, maximum: 1 },
      },
    },
    rtt: {
      type: 'object',
      additionalProperties: false,
      properties: {
        intervalMs: posInt(100),
        count: { type: 'integer', minimum: 1, maximum: 1000 },
        connectTimeoutMs: posInt(1),
      },
    },
    budget: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxBytes: posInt(1),
        windowMs: posInt(1000),
      },
    },
    samples: { type: 'integer', minimum: 1, maximum: 1000 },
  },
} as const

const ipamCollector = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    intervalMs: posInt(100),
    whereabouts: { type: 'boolean' },
  },
} as const

export const CONFIG_SCHEMA = {
  $id: 'netrank-agent-config',
  type: 'object',
  additionalProperties: false,
  required: ['plugins'],
  properties: {
    node: { type: 'string', minLength: 1, maxLength: 253 },
    listen: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', minLength: 1 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
    plugins: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 63, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' },
          costPerGiB: nonNegative,
        },
      },
    },
    collectors: {
      type: 'object',
      additionalProperties: false,
      properties: {
        static: {
          type: 'object',
          additionalProperties: false,
          properties: {
            intervalMs: { type: 'integer', minimum: 100 },
            kpis: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['plugin', 'kpi', 'value'],
                properties: {
                  plugin: { type: 'string', minLength: 1 },
                  kpi: { type: 'string', enum: [...KPI_NAMES] },
                  value: nonNegative,
                },
              },
            },
          },
        },
        cadvisor: cadvisorCollector,
        probes: probesCollector,
        ipam: ipamCollector,
      },
    },
    selector: {
      type: 'object',
      additionalProperties: false,
      properties: {
        profiles: { type: 'object', additionalProperties: weights },
        tieBand: { type: 'number', minimum: 0, maximum: 1 },
        maxOccupancy: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        hysteresisMargin: { type: 'number', minimum: 0, maximum: 1 },
        spreadWindowMs: { type: 'integer', minimum: 0 },
        // a number of ms for every KPI, or a map {kpi: ms}: checked in config.ts
        staleAfterMs: {},
        windowMs: { type: 'integer', minimum: 1000 },
        maxSamplesPerSeries: { type: 'integer', minimum: 2, maximum: 100_000 },
        defaultProfile: { type: 'string', minLength: 1 },
      },
    },
    audit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        dir: { type: 'string', minLength: 1 },
        maxFileBytes: { type: 'integer', minimum: 4096 },
        maxFiles: { type: 'integer', minimum: 1, maximum: 1000 },
      },
    },
    cni: {
      type: 'object',
      additionalProperties: false,
      properties: {
        confDir: { type: 'string', minLength: 1 },
        stateDir: { type: 'string', minLength: 1 },
        hostLocalDataDir: { type: 'string', minLength: 1 },
      },
    },
    kubernetes: {
      type: 'object',
      additionalProperties: false,
      properties: {
        kubeconfig: { type: 'string', minLength: 1 },
        inCluster: { type: 'boolean' },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        selectToken: { type: 'string', minLength: 16 },
      },
    },
  },
} as const
