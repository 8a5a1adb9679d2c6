// The selector's public surface: pure functions from a KPI snapshot to a ranking and a choice.
export { rank } from './rank.js'
export { choose, select, tieOf, EXPLORE_BELOW_COVERAGE } from './select.js'
export { BUILTIN_PROFILES, DEFAULT_DEMAND, DEFAULT_TARGETS } from './profiles.js'
export type { BuiltinProfileName } from './profiles.js'
export { phantomLoad } from './phantom-load.js'
export * as valueFunctions from './value-functions.js'

export { CRITERIA } from './types.js'
export type * from './types.js'
