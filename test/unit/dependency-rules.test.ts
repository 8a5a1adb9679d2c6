// The folder rules of .dependency-cruiser.cjs (`npm run lint:deps`), shown on a planted tree:
// each wrong-way import is rejected under the rule that names it, a right-way one passes.
import { execFile } from 'node:child_process'
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { REPO_ROOT } from '../support/kustomize.js'
import { tempDir } from '../support/netns.js'

const run = promisify(execFile)

interface Violation { rule: { name: string }, from: string, to: string }

/** A tree with the repo's rules and tsconfig and these files; depcruise's violations. */
async function violations (files: Record<string, string>): Promise<Violation[]> {
  const dir = tempDir(t, 'nr-depcruise')
  copyFileSync(join(REPO_ROOT, '.dependency-cruiser.cjs'), join(dir, '.dependency-cruiser.cjs'))
  copyFileSync(join(REPO_ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'))
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true })
    writeFileSync(join(dir, path), text)
  }
  const folders = [...new Set(Object.keys(files).map((p) => p.split('/')[0] ?? p))]
  const bin = join(REPO_ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs')
  // exit code ≠ 0 on a violation: the JSON report is on stdout either way
  const out = await run(process.execPath, [bin, '--config', '.dependency-cruiser.cjs', '--output-type', 'json', ...folders], { cwd: dir })
    .catch((err: { stdout?: string }) => ({ stdout: err.stdout ?? '' }))
  const report = JSON.parse(out.stdout) as { summary: { violations: Violation[] } }
  return report.summary.violations
}

const exporting = 'export const x = 1\n'
const importing = (spec: string): string => `import { x } from '${spec}'\nexport const y = x\n`

// one planted tree (one depcruise run): each case's importing file is its own
const cases: Array<[string, Record<string, string>, string[]]> = [
  ['collectors/ importing store/ and contract/ (right way)', { 'contract/k.ts': exporting, 'store/s.ts': importing('../contract/k.js'), 'collectors/c.ts': importing('../store/s.js') }, []],
  ['selector/ importing agent/', { 'agent/y.ts': exporting, 'selector/x.ts': importing('../agent/y.js') }, ['selector-imports-only-earlier-layers']],
  ['store/ importing collectors/', { 'collectors/c2.ts': exporting, 'store/s2.ts': importing('../collectors/c2.js') }, ['store-imports-only-earlier-layers']],
  ['contract/ importing selector/', { 'selector/s.ts': exporting, 'contract/k2.ts': importing('../selector/s.js') }, ['contract-imports-nothing', 'contract-imports-only-earlier-layers']],
  ['the shim importing collectors/', { 'collectors/c3.ts': exporting, 'cni/a.ts': importing('../collectors/c3.js') }, ['shim-imports-only-cni-and-contract']],
  ['agent/ importing the shim', { 'cni/a2.ts': exporting, 'agent/g.ts': importing('../cni/a2.js') }, ['agent-imports-only-earlier-layers']],
  ['cli/ importing the lab', { 'lab/l.ts': exporting, 'cli/c.ts': importing('../lab/l.js') }, ['product-imports-no-dev-code']],
  ['agent/ importing test support', { 'test/support/h.ts': exporting, 'agent/g2.ts': importing('../test/support/h.js') }, ['product-imports-no-dev-code']],
  ['bin/ importing lab code other than its command', { 'lab/lab-up.ts': exporting, 'bin/n.ts': importing('../lab/lab-up.js') }, ['bin-imports-only-the-lab-command']],
  ['bin/ loading the lab\'s command (right way)', { 'lab/cli-lab.ts': exporting, 'bin/m.ts': importing('../lab/cli-lab.js') }, []],
  ['a cycle inside one folder', { 'agent/a.ts': `import { b } from './b.js'\nexport const a = () => b\n`, 'agent/b.ts': `import { a } from './a.js'\nexport const b = () => a\n` }, ['no-circular']],
]

t.test('each wrong-way import is rejected under its rule; the right-way ones pass', async (t) => {
  const found = await violations(Object.assign({}, ...cases.map(([, files]) => files)))
  for (const [name, files, rules] of cases) {
    const mine = new Set(Object.keys(files))
    const broken = [...new Set(found.filter((v) => mine.has(v.from)).map((v) => v.rule.name))].sort()
    t.same(broken, [...rules].sort(), name)
  }
  t.equal(found.filter((v) => !cases.some(([, files]) => v.from in files)).length, 0, 'no violation outside the planted cases')
})
