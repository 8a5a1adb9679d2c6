// The product build (tsconfig.product.json, what the agent image and the shim ship) holds
// only product folders: no lab, bench or test code follows an import into it, and its
// `netrank` has no `lab` command. The dev build (dist/, built by `npm test`) has both.
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { REPO_ROOT } from '../support/kustomize.js'

const run = promisify(execFile)
const PRODUCT = ['agent', 'bin', 'cli', 'cni', 'collectors', 'contract', 'selector', 'store']

const commandsOf = (help: string): string[] => [...help.matchAll(/^ {2}([a-z]+) {2,}\S/gm)].map((m) => m[1] ?? '')

t.test('a product-only tsc build has only the product folders, and no lab command', async (t) => {
  // inside the repo so the built CLI resolves node_modules like dist/ does
  const out = mkdtempSync(join(REPO_ROOT, '.nr-product-'))
  t.teardown(() => rmSync(out, { recursive: true, force: true }))
  const tsc = join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
  await run(process.execPath, [tsc, '-p', join(REPO_ROOT, 'tsconfig.product.json'), '--outDir', out], { cwd: REPO_ROOT })
  t.same(readdirSync(out).sort(), PRODUCT, 'the top-level folders of the product build')
  const files = readdirSync(out, { recursive: true, encoding: 'utf8' })
  t.same(files.filter((f) => /(^|\/)(lab|bench|test|stand-ins)(\/|$)/.test(f)), [], 'no dev file anywhere in it')
  const env = { ...process.env }
  delete env.NODE_EXTRA_CA_CERTS
  const help = await run(process.execPath, [join(out, 'bin', 'netrank.js'), '--help'], { env })
  t.same(commandsOf(help.stdout), ['agent', 'rank', 'explain', 'policy', 'profile', 'collect', 'demo', 'openapi'], 'the product CLI\'s commands')
  const lab = await run(process.execPath, [join(out, 'bin', 'netrank.js'), 'lab', 'status'], { env }).catch((err: { code: number, stderr: string }) => err)
  t.match(lab, { code: 2, stderr: /unknown command 'lab'/ }, '`netrank lab` is a usage error in the product build')
})

t.test('the dev build (dist/) composes the lab command into the same CLI', { skip: !existsSync(join(REPO_ROOT, 'dist', 'lab', 'cli-lab.js')) && 'needs `npm run build`' }, async (t) => {
  const env = { ...process.env }
  delete env.NODE_EXTRA_CA_CERTS
  const help = await run(process.execPath, [join(REPO_ROOT, 'dist', 'bin', 'netrank.js'), '--help'], { env })
  t.same(commandsOf(help.stdout), ['agent', 'rank', 'explain', 'policy', 'profile', 'collect', 'lab', 'demo', 'openapi'])
})
