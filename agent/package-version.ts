// The package version netrank_build_info shows: package.json above this module (two levels
// up from dist/agent/, one from the sources' agent/).
import { readFileSync } from 'node:fs'

let cached: string | undefined

/** netrank's package version, 'unknown' when no package.json is found. */
export function packageVersion (): string {
  if (cached !== undefined) return cached
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (pkg.name === 'netrank' && typeof pkg.version === 'string') return (cached = pkg.version)
    } catch {
      // not there: the next candidate
    }
  }
  return (cached = 'unknown')
}
