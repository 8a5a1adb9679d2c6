/** Finds files shipped with netrank (examples/) from the sources (tests) and from dist/ alike. */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The folder holding netrank's package.json, searched upwards from this module. */
export function packageRoot (): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'netrank') return dir
    const up = dirname(dir)
    if (up === dir) throw new Error('cannot find netrank\'s package.json above this module')
    dir = up
  }
}

/** examples/agent.example.yaml */
export function exampleConfigPath (): string {
  return join(packageRoot(), 'examples', 'agent.example.yaml')
}
