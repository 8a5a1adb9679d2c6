// The agent and probe images: every path the Dockerfiles copy exists after `npm run build`
// (no Docker engine here, so the files are checked instead of built), the build stage gets
// everything the build compiles, and the runtime image has what the DaemonSets run.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { join, posix } from 'node:path'
import t from 'tap'
import { MANIFESTS, REPO_ROOT } from '../support/kustomize.js'

interface Instruction { op: string, args: string, line: number }
interface Stage { name: string | undefined, image: string, workdir: string, instructions: Instruction[] }
interface Copy { from: string | undefined, sources: string[], dest: string, line: number }

/** Parses a Dockerfile into stages: line continuations joined, comments dropped. */
function parseDockerfile (text: string): Stage[] {
  const stages: Stage[] = []
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const start = i
    let line = lines[i] ?? ''
    if (/^\s*(#|$)/.test(line)) continue
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + (lines[++i] ?? '')
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line)
    if (m === null) throw new Error(`Dockerfile line ${start + 1}: cannot parse ${JSON.stringify(line)}`)
    const op = (m[1] ?? '').toUpperCase()
    const args = (m[2] ?? '').trim()
    if (op === 'FROM') {
      const f = /^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)
      stages.push({ image: f?.[1] ?? '', name: f?.[2], workdir: '/', instructions: [] })
      continue
    }
    const stage = stages.at(-1)
    if (stage === undefined) throw new Error(`Dockerfile line ${start + 1}: ${op} before FROM`)
    if (op === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, args)
    stage.instructions.push({ op, args, line: start + 1 })
  }
  return stages
}

/** The COPY instructions of a stage, with --from and the JSON or plain argument form. */
function copiesOf (stage: Stage): Copy[] {
  return stage.instructions.filter((i) => i.op === 'COPY').map((i) => {
    let rest = i.args
    let from: string | undefined
    for (;;) {
      const flag = /^--([a-z-]+)=(\S+)\s+/.exec(rest)
      if (flag === null) break
      if (flag[1] === 'from') from = flag[2]
      rest = rest.slice(flag[0].length)
    }
    const parts = rest.startsWith('[') ? JSON.parse(rest) as string[] : rest.split(/\s+/)
    return { from, sources: parts.slice(0, -1), dest: parts.at(-1) ?? '', line: i.line }
  })
}

const agent = parseDockerfile(readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8'))
const probe = parseDockerfile(readFileSync(join(MANIFESTS, 'probe', 'Dockerfile'), 'utf8'))
const built = existsSync(join(REPO_ROOT, 'dist', 'bin', 'netrank-cni')) && existsSync(join(REPO_ROOT, 'dist', 'bin', 'netrank.js'))
const NOT_BUILT = 'dist/ is not built here (run `npm run build`); in CI the build runs before the tests'

// Where a COPY source lives in this repository: the build context for plain COPY, and
// for --from=<stage> the path under that stage's WORKDIR (what the stage copied or built).
function repoPathOf (c: Copy, source: string): string {
  if (c.from === undefined) return source.replace(/^\.\//, '')
  const stage = agent.find((s) => s.name === c.from)
  if (stage === undefined) throw new Error(`COPY --from=${c.from} (line ${c.line}) names no stage of this Dockerfile`)
  const prefix = stage.workdir.endsWith('/') ? stage.workdir : `${stage.workdir}/`
  if (!source.startsWith(prefix)) throw new Error(`COPY --from=${c.from} ${source} (line ${c.line}) is outside the stage's WORKDIR ${stage.workdir}`)
  return source.slice(prefix.length)
}

t.test('the agent image: a build stage and a runtime stage on node:20-bookworm-slim', async (t) => {
  t.equal(agent.length, 2)
  t.same(agent.map((s) => s.image), ['node:20-bookworm-slim', 'node:20-bookworm-slim'])
  t.equal(agent[0]?.name, 'build')
  t.ok(agent[1]?.instructions.some((i) => i.op === 'RUN' && /npm ci --omit=dev/.test(i.args)), 'the runtime installs production dependencies only')
  const apt = agent[1]?.instructions.find((i) => i.op === 'RUN' && /apt-get install/.test(i.args))?.args ?? ''
  for (const pkg of ['iperf3', 'iputils-ping', 'sockperf', 'iproute2', 'util-linux']) t.match(apt, new RegExp(`\\b${pkg}\\b`), `installs ${pkg}`)
  t.match(apt, /DEBIAN_FRONTEND=noninteractive/, 'iperf3\'s debconf question does not block the build')
})

t.test('every path the agent Dockerfile copies exists (dist/ after npm run build)', async (t) => {
  for (const stage of agent) {
    for (const c of copiesOf(stage)) {
      for (const source of c.sources) {
        const path = repoPathOf(c, source)
        if (path.startsWith('dist/') && !built) {
          t.ok(true, `line ${c.line}: ${source}`, { skip: NOT_BUILT })
          continue
        }
        t.ok(existsSync(join(REPO_ROOT, path)), `line ${c.line}: ${source} → ${path} exists`)
      }
    }
  }
})

const DEV_FOLDERS = ['lab', 'bench', 'test']

t.test('the build stage gets every folder the product build compiles, and no lab, bench or test code', async (t) => {
  const tsconfig = JSON.parse(readFileSync(join(REPO_ROOT, 'tsconfig.product.json'), 'utf8')) as { include: string[] }
  for (const dev of DEV_FOLDERS) t.notOk(tsconfig.include.some((d) => d === dev || d.startsWith(`${dev}/`)), `the product build compiles no ${dev}/`)
  const build = agent[0] as Stage
  const copied = copiesOf(build).filter((c) => c.from === undefined).flatMap((c) => c.sources.map((s) => s.replace(/\/$/, '')))
  for (const dir of [...tsconfig.include, 'scripts/build.mjs', 'scripts/build-shim.mjs', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.product.json']) {
    t.ok(copied.some((c) => dir === c || dir.startsWith(`${c}/`)), `${dir} is copied into the build stage`)
  }
  for (const c of copied) t.notOk(DEV_FOLDERS.some((dev) => c === dev || c.startsWith(`${dev}/`)), `${c}: not development code`)
  t.ok(build.instructions.some((i) => i.op === 'RUN' && /npm run build:product\b/.test(i.args)), 'the build stage builds the product only')
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  t.match(pkg.scripts['build:product'], /scripts\/build\.mjs --product/)
})

t.test('the runtime image puts the shim, scripts and CLI where the DaemonSet expects them', async (t) => {
  const runtime = agent[1] as Stage
  const copies = copiesOf(runtime)
  const destOf = (source: string): string | undefined => copies.find((c) => c.sources.includes(source))?.dest
  t.equal(runtime.workdir, '/app', 'agent-entrypoint.sh runs /app/dist/bin/netrank.js (NETRANK_APP_DIR)')
  t.equal(destOf('/src/dist/bin/netrank-cni'), '/usr/local/lib/netrank/netrank-cni', 'install-cni.sh\'s NETRANK_SHIM default')
  t.equal(destOf('/src/dist/'), 'dist/')
  for (const script of ['install-cni.sh', 'agent-entrypoint.sh']) {
    t.equal(destOf(`manifests/install/${script}`), '/usr/local/lib/netrank/', `${script} in /usr/local/lib/netrank/`)
    const mode = statSync(join(MANIFESTS, 'install', script)).mode
    t.ok((mode & 0o111) !== 0, `${script} is executable (COPY keeps the mode; the DaemonSet execs it)`)
    const ds = readFileSync(join(MANIFESTS, 'base', 'daemonset.yaml'), 'utf8')
    t.ok(ds.includes(`/usr/local/lib/netrank/${script}`), `the DaemonSet runs /usr/local/lib/netrank/${script}`)
  }
  const entry = runtime.instructions.find((i) => i.op === 'ENTRYPOINT')
  t.same(JSON.parse(entry?.args ?? '[]'), ['/usr/local/lib/netrank/agent-entrypoint.sh'])
})

t.test('the probe image is an iperf3 server on the port the probe DaemonSet declares', async (t) => {
  t.equal(probe.length, 1)
  const s = probe[0] as Stage
  t.match(s.image, /^debian:bookworm/)
  t.ok(s.instructions.some((i) => i.op === 'RUN' && /apt-get install .*\biperf3\b/.test(i.args)))
  t.ok(s.instructions.some((i) => i.op === 'RUN' && /apt-get install .*\bsockperf\b/.test(i.args)), 'and sockperf, the DaemonSet\'s TCP_RR server')
  t.same(copiesOf(s), [], 'copies nothing from the repository')
  const entry = JSON.parse(s.instructions.find((i) => i.op === 'ENTRYPOINT')?.args ?? '[]') as string[]
  t.equal(entry[0], 'iperf3')
  t.ok(entry.includes('--server'))
  t.equal(entry[entry.indexOf('--port') + 1], '5201')
  t.match(readFileSync(join(MANIFESTS, 'probe', 'daemonset.yaml'), 'utf8'), /containerPort: 5201/)
  t.match(s.instructions.find((i) => i.op === 'USER')?.args, /^65534/, 'runs as nobody, like the DaemonSet\'s runAsUser')
})

t.test('the Dockerfile parser reads continuations, flags and the JSON form', async (t) => {
  const stages = parseDockerfile('FROM a AS one\nWORKDIR /w\nRUN x \\\n  && y\n# c\nFROM b\nCOPY --from=one --chown=1:1 /w/out/ /o/\nCOPY ["x y", "z"]\n')
  t.same(stages.map((s) => [s.name, s.image, s.workdir]), [['one', 'a', '/w'], [undefined, 'b', '/']])
  t.equal(stages[0]?.instructions[1]?.args, 'x    && y')
  t.same(copiesOf(stages[1] as Stage).map((c) => [c.from, c.sources, c.dest]), [['one', ['/w/out/'], '/o/'], [undefined, ['x y'], 'z']])
  t.throws(() => parseDockerfile('RUN x\n'), /RUN before FROM/)
})
