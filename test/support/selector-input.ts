// Hand-built selector inputs for the selector's tests: readings with the store's shape,
// the agent's real defaults (parseConfig), a profile by name as the agent resolves it.
import type { KpiName, KpiReading } from '../../contract/kpis.js'
import { profileOf, selectorOptions } from '../../agent/config/load-config.js'
import type { Profile, RankInput, RankedPlugin, Ranking, SelectInput, SelectorOptions } from '../../selector/index.js'
import { configFrom } from './agent-config.js'

export const NOW = 1_700_000_000_000 // ms since the epoch
export type Readings = Partial<Record<KpiName, KpiReading>>

/** The agent's default selector options, with overrides. */
export function options (o: Partial<SelectorOptions> = {}): SelectorOptions {
  return { ...selectorOptions(configFrom()), ...o }
}

/** A built-in (or, with `selector` config, operator) profile as the agent resolves it. */
export function profile (name = 'balanced', selector: Record<string, unknown> = {}): Profile {
  const p = profileOf(configFrom({ selector }), name)
  if (p === undefined) throw new Error(`no profile ${name}`)
  return p
}

/** A fresh measured reading: 5 samples, 2 s old, no spread (so no band) unless given. */
export const r = (value: number, o: Partial<KpiReading> = {}): KpiReading => ({ value, ageMs: 2000, samples: 5, stale: false, source: 'test', spread: 0, ...o })
export const stale = (value: number, ageMs = 3_600_000): KpiReading => r(value, { ageMs, stale: true })

/** A network measured by probes and traffic: capacity both ways, rx/tx, idle RTT. */
export function net (capBps: number, useBps: number, latencyS: number, more: Readings = {}): Readings {
  return {
    capacityBps: r(capBps), capacityRxBps: r(capBps), capacityTxBps: r(capBps),
    rxBps: r(useBps), txBps: r(useBps), usageBps: r(useBps),
    latencySeconds: r(latencyS),
    ...more,
  }
}

export function rankInput (plugins: Record<string, Readings>, o: Partial<RankInput> & { names?: string[] } = {}): RankInput {
  const { names, ...rest } = o
  return {
    snapshot: { atMs: NOW, plugins },
    catalog: (names ?? Object.keys(plugins)).map(name => ({ name })),
    profileName: 'balanced',
    profile: profile(),
    options: options(),
    recent: [],
    ...rest,
  }
}

export function selectInput (plugins: Record<string, Readings>, o: Partial<SelectInput> & { names?: string[] } = {}): SelectInput {
  return { sinceExplore: 0, seed: 1, ...rankInput(plugins, o), ...o } as SelectInput
}

export const order = (r: Ranking): string[] => r.plugins.map(p => p.plugin)
export function byName (r: Ranking, name: string): RankedPlugin {
  const p = r.plugins.find(x => x.plugin === name)
  if (p === undefined) throw new Error(`no ${name} in ranking`)
  return p
}
