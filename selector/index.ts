// The selector's public surface: pure functions from a KPI snapshot to a ranking and a choice.
export { rank } from './rank.js'
export { choose, select } from './select.js'
export { BUILTIN_PROFILES } from './profiles.js'
export type { BuiltinProfileName } from './profiles.js'
export { KPI_DIRECTION, KPI_RESOLUTION, normalise } from './normalise.js'

export type * from './types.js'
