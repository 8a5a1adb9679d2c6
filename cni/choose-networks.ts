// From what the pod asked for to a plan: which delegate networks, on which interface
// names, and why (explicit | default | smart | logical | fallback-<why>). The agent and the NAD
// lookup are passed in, so this module holds only the decision rules.
import type { LogicalRequest, NadRequest, PodRequest } from './annotations.js'
import type { SelectOutcome } from './agent-client.js'
import { findNetwork, type NetworkCatalog } from './delegate-conf.js'
import { type DelegateNetwork } from '../contract/attachment-record.js'
import { fail } from './errors.js'

/** One planned attachment. */
export interface PlannedAttachment { network: DelegateNetwork, ifname: string, nad?: string }

/** The networks chosen for a pod. */
export interface Plan { reason: string, decisionId: string, attachments: PlannedAttachment[] }

/** What choosing needs from the outside. */
export interface ChooseDeps {
  catalog: NetworkCatalog
  confDir: string
  defaultPlugins: readonly string[]
  /** CNI_IFNAME: the first attachment's interface */
  primaryIfname: string
  resolveNad: (req: NadRequest) => Promise<DelegateNetwork>
  /** a logical network (cni: "" + networks) as its plugin's network limited to the sub_subnet */
  resolveLogical: (req: LogicalRequest) => Promise<DelegateNetwork>
  /** asks the agent; expectedBandwidth is the pod's annotation as written */
  select: (profile: string | undefined, expectedBandwidth: string | undefined) => Promise<SelectOutcome>
}

/**
 * Interface names for attachments in order: explicit names as given; the others take
 * `primary` (eth0), then eth1, eth2… skipping explicit names. A repeated name is code 102.
 */
export function assignIfnames (explicit: ReadonlyArray<string | undefined>, primary: string): string[] {
  const taken = new Set<string>()
  for (const name of explicit) {
    if (name === undefined) continue
    if (taken.has(name)) throw fail('NR_CNI_DUPLICATE_IFNAME', `${JSON.stringify(name)} is requested twice`)
    taken.add(name)
  }
  const m = /^(.*?)(\d+)$/.exec(primary)
  const prefix = m?.[1] ?? primary
  let n = m?.[2] !== undefined ? Number(m[2]) : 0
  let first = true
  const next = (): string => {
    for (;;) {
      const candidate = first ? primary : `${prefix}${++n}`
      first = false
      if (!taken.has(candidate)) { taken.add(candidate); return candidate }
    }
  }
  return explicit.map((name) => name ?? next())
}

/** NAD mode names: the i-th NAD (1-based) is net<i> unless named; the default network holds `primary`. */
export function assignNadIfnames (explicit: ReadonlyArray<string | undefined>, primary: string): string[] {
  const names = explicit.map((name, i) => name ?? `net${i + 1}`)
  const seen = new Set<string>([primary])
  for (const name of names) {
    if (seen.has(name)) throw fail('NR_CNI_DUPLICATE_IFNAME', `${JSON.stringify(name)} is used twice (${primary} is the default network's)`)
    seen.add(name)
  }
  return names
}

/** The node's default network: the first of defaultPlugins, else the first network in confDir. */
export function defaultNetwork (deps: Pick<ChooseDeps, 'catalog' | 'confDir' | 'defaultPlugins'>): DelegateNetwork {
  const first = deps.defaultPlugins[0]
  if (first !== undefined) return findNetwork(deps.catalog, first, deps.confDir)
  const net = deps.catalog.networks[0]
  if (net === undefined) throw fail('NR_CNI_NETWORK_NOT_FOUND', `no delegate network conf in ${deps.confDir} besides netrank's own`)
  return net
}

async function smart (request: { profile: string | undefined, expectedBandwidth: string | undefined }, deps: ChooseDeps): Promise<Plan> {
  const outcome = await deps.select(request.profile, request.expectedBandwidth)
  let why: string
  if (outcome.ok) {
    const nets = outcome.answer.plugins.map((p) => deps.catalog.networks.find((n) => n.name === p))
    if (nets.every((n) => n !== undefined)) {
      const names = assignIfnames(nets.map(() => undefined), deps.primaryIfname)
      return {
        reason: 'smart',
        decisionId: outcome.answer.decisionId,
        attachments: nets.map((network, i) => ({ network, ifname: names[i] ?? deps.primaryIfname })),
      }
    }
    why = 'unknown-network'
  } else {
    why = outcome.why
  }
  return { reason: `fallback-${why}`, decisionId: '', attachments: [{ network: defaultNetwork(deps), ifname: deps.primaryIfname }] }
}

/** Turns the pod's request into a plan (docs/contract.md#pod-annotations precedence; smart falls back, never fails, when the agent does). */
export async function chooseNetworks (request: PodRequest, deps: ChooseDeps): Promise<Plan> {
  switch (request.mode) {
    case 'explicit': {
      const names = assignIfnames(request.networks.map((r) => r.ifname), deps.primaryIfname)
      return {
        reason: 'explicit',
        decisionId: '',
        attachments: request.networks.map((r, i) => ({ network: findNetwork(deps.catalog, r.network, deps.confDir), ifname: names[i] ?? '' })),
      }
    }
    case 'nad': {
      const names = assignNadIfnames(request.nads.map((r) => r.ifname), deps.primaryIfname)
      const first: PlannedAttachment = { network: defaultNetwork(deps), ifname: deps.primaryIfname }
      const rest: PlannedAttachment[] = []
      for (const [i, nad] of request.nads.entries()) {
        rest.push({ network: await deps.resolveNad(nad), ifname: names[i] ?? '', nad: `${nad.namespace}/${nad.name}` })
      }
      return { reason: 'explicit', decisionId: '', attachments: [first, ...rest] }
    }
    case 'logical': {
      const names = assignIfnames(request.networks.map((r) => r.ifname), deps.primaryIfname)
      const attachments: PlannedAttachment[] = []
      for (const [i, req] of request.networks.entries()) attachments.push({ network: await deps.resolveLogical(req), ifname: names[i] ?? '' })
      return { reason: 'logical', decisionId: '', attachments }
    }
    case 'default': {
      if (deps.defaultPlugins.length === 0) return smart(request, deps)
      const names = assignIfnames(deps.defaultPlugins.map(() => undefined), deps.primaryIfname)
      return {
        reason: 'default',
        decisionId: '',
        attachments: deps.defaultPlugins.map((p, i) => ({ network: findNetwork(deps.catalog, p, deps.confDir), ifname: names[i] ?? '' })),
      }
    }
    case 'smart':
      return smart(request, deps)
  }
}
