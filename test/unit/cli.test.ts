import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { join } from 'node:path'
import t from 'tap'
import { tsLoaderArgs } from '../support/ts-loader.js'
import type { Test } from 'tap'
import { startAgent } from '../../agent/start-agent.js'
import { CORE_COMMANDS as COMMANDS, main } from '../../cli/main.js'
import { parseConfig } from '../../agent/config/load-config.js'
import { packageRoot } from '../../cli/package-root.js'

function capture () {
  const out: string[] = []
  const err: string[] = []
  return {
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: {} },
    out: () => out.join(''),
    err: () => err.join(''),
  }
}

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nr-cli-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

async function runningAgent (t: Test) {
  const dir = await tempDir(t)
  const config = parseConfig({
    node: 'cli-node',
    listen: { port: 0 },
    plugins: [{ name: 'fast' }, { name: 'full' }],
    collectors: {
      static: {
        kpis: [
          { plugin: 'fast', kpi: 'capacityBps', value: 1e10 },
          { plugin: 'fast', kpi: 'rxBps', value: 3e9 },
          { plugin: 'fast', kpi: 'txBps', value: 1e9 },
          { plugin: 'fast', kpi: 'latencySeconds', value: 0.00025 },
          { plugin: 'fast', kpi: 'ipUsed', value: 50 },
          { plugin: 'fast', kpi: 'ipCapacity', value: 200 },
          { plugin: 'full', kpi: 'ipUsed', value: 254 },
          { plugin: 'full', kpi: 'ipCapacity', value: 254 },
        ],
      },
    },
    audit: { dir },
  })
  const running = await startAgent(config, { logger: false, handleSignals: false })
  t.teardown(() => running.close())
  await running.agent.runCollectorsOnce()
  return running
}

t.test('netrank --help lists every command; no command is a usage error (exit 2)', async t => {
  const help = capture()
  t.equal(await main(['--help'], help.io), 0)
  for (const c of COMMANDS) t.match(help.out(), new RegExp(`^ {2}${c.name} +\\S`, 'm'), c.name)
  const none = capture()
  t.equal(await main([], none.io), 2)
  t.match(none.err(), /^Usage: netrank <command>/)
  const version = capture()
  t.equal(await main(['--version'], version.io), 0)
  t.match(version.out(), /^netrank \d+\.\d+\.\d+\n$/)
})

t.test('every command has --help, exit 0', async t => {
  for (const c of COMMANDS) {
    const r = capture()
    t.equal(await main([c.name, '--help'], r.io), 0, c.name)
    t.match(r.out(), new RegExp(`^Usage: netrank ${c.name}`), c.name)
  }
})

t.test('usage errors exit 2 with the message and the usage', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['frobnicate'], /unknown command 'frobnicate' \(commands: agent, rank, explain, policy, profile, collect, demo, openapi\)/],
    [['rank', '--bogus'], /^netrank rank: Unknown option '--bogus'/],
    [['rank', '--url'], /^netrank rank: Option '--url <value>' argument missing/],
    [['rank', '--url', 'ftp://x'], /^netrank rank: --url must start with http:\/\/ or https:\/\//],
    [['rank', 'extra'], /^netrank rank: unexpected argument 'extra'/],
    [['agent'], /^netrank agent: --config FILE is required/],
    [['agent', '--config', 'x.yaml', '--log-level', 'loud'], /^netrank agent: --log-level must be one of/],
    [['demo', '--port', 'abc'], /^netrank demo: --port must be an integer 0–65535/],
  ]
  for (const [argv, want] of cases) {
    const r = capture()
    t.equal(await main(argv, r.io), 2, argv.join(' '))
    t.match(r.err(), want, argv.join(' '))
    if (argv[0] !== 'frobnicate') t.match(r.err(), /\nUsage: netrank /, 'the usage follows')
  }
})

t.test('netrank rank prints an aligned table with units, and the reasons', async t => {
  const running = await runningAgent(t)
  const r = capture()
  t.equal(await main(['rank', '--url', running.url], r.io), 0, r.err())
  const lines = r.out().trimEnd().split('\n')
  t.match(lines[0], /^node cli-node · profile balanced · a pod of 10 Mbit\/s each way \(profile\) · \d{4}-/)
  t.match(lines[1], /^PLUGIN +RANK +SCORE +COVERAGE +AFTER rx\/tx +TRAFFIC rx\/tx Mbit\/s +CAPACITY Mbit\/s +LATENCY ms +IP POOL +REASONS$/)
  const fast = lines.find((l) => l.startsWith('fast')) ?? ''
  // 3 Gbit/s rx + the pod's 10 Mbit/s on 10 Gbit/s: 30 %; tx 1 Gbit/s + 10 Mbit/s: 10 %
  t.match(fast, /^fast +1 +0\.\d{3} ±0\.\d{3} +100% +30%\/10% +3000\/1000 +10000 +0\.250 +50\/200 \(25%\) +predicted utilisation rx 30\.1% \/ tx 10\.1% with this pod's 10 Mbit\/s: headroom 6\.99 Gbit\/s$/,
    'score ± band, coverage, predicted utilisation per direction, bits/s as Mbit/s, seconds as ms, the pool as used/capacity (%), then the reasons')
  const full = lines.find((l) => l.startsWith('full')) ?? ''
  t.match(full, /^full +2 +ineligible +\d+% +- +- +- +- +254\/254 \(100%\) +ip pool 100% full \(≥ maxOccupancy 95%\)$/, 'the full pool ranks last with its one reason')
  t.ok(lines.includes('note: cost left out of profile "balanced" for every network: no network has a cost (catalog costPerGiB or a static KPI)'), 'what nobody measures is said once, under the table')
  t.notOk(lines.some((l) => /^(fast|full) .*cost/.test(l)), 'and not on every row')
  // aligned: every column starts at the same offset on each line
  const header = lines[1] ?? ''
  for (const col of ['RANK', 'SCORE', 'IP POOL', 'REASONS']) {
    const at = header.indexOf(col)
    for (const l of [fast, full]) t.not(l[at - 1], undefined, `${col} column exists`)
  }
  t.equal(fast.indexOf('predicted utilisation'), header.indexOf('REASONS'), 'the reasons start under their header')
  t.equal(full.indexOf('254/254'), header.indexOf('IP POOL'), 'the pool starts under its header')
})

t.test('netrank rank --expected-bandwidth ranks for that pod; a value that is no rate is a usage error', async t => {
  const running = await runningAgent(t)
  const r = capture()
  t.equal(await main(['rank', '--url', running.url, '--expected-bandwidth', '{"rx":"2G","tx":"1M"}'], r.io), 0, r.err())
  const lines = r.out().split('\n')
  t.match(lines[0], /· a pod of rx 2000 \/ tx 1\.00 Mbit\/s \(query\) ·/)
  t.match(lines.find((l) => l.startsWith('fast')), / 50%\/10% .*with this pod's rx 2 Gbit\/s \/ tx 1 Mbit\/s: headroom 5 Gbit\/s$/)
  for (const bad of ['fast', '-5M']) {
    const e = capture()
    t.equal(await main(['rank', '--url', running.url, `--expected-bandwidth=${bad}`], e.io), 2, `${bad}: exit 2`)
    t.match(e.err(), new RegExp(`^netrank rank: --expected-bandwidth "${bad}": `))
  }
})

t.test('netrank rank --json prints the /v1/rank answer; --profile picks the profile', async t => {
  const running = await runningAgent(t)
  const r = capture()
  t.equal(await main(['rank', '--url', running.url, '--profile', 'latency', '--json'], r.io), 0)
  const body = JSON.parse(r.out())
  t.equal(body.profile, 'latency')
  t.same(body.plugins.map((p: { plugin: string }) => p.plugin), ['fast', 'full'])
  t.equal(body.plugins[1].eligible, false)
})

t.test('netrank rank failures exit 1 with the agent\'s error or the connection problem', async t => {
  const running = await runningAgent(t)
  const bad = capture()
  t.equal(await main(['rank', '--url', running.url, '--profile', 'nope'], bad.io), 1)
  t.match(bad.err(), /^netrank rank: NR_UNKNOWN_PROFILE \(HTTP 400\): unknown profile 'nope'; valid profiles: balanced,/)
  // a port that was free a moment ago: nothing listens there
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const a = srv.address()
      srv.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0))
    })
  })
  const down = capture()
  t.equal(await main(['rank', '--url', `http://127.0.0.1:${port}`], down.io), 1)
  t.match(down.err(), new RegExp(`^netrank rank: cannot reach the agent at http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`))
})

t.test('netrank agent with an invalid config exits 1 listing every problem', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'bad.yaml')
  await writeFile(file, 'plugins: []\nselector:\n  tieBand: 7\nlisten:\n  port: http\n')
  const r = capture()
  t.equal(await main(['agent', '--config', file], r.io), 1)
  t.match(r.err(), /invalid config .*bad\.yaml: 3 problem\(s\)/)
  t.match(r.err(), /- \/plugins: must have at least 1 item/)
  t.match(r.err(), /- \/selector\/tieBand: must be ≤ 1/)
  t.match(r.err(), /- \/listen\/port: must be an integer/)
})

t.test('netrank demo --once shows two rankings and the selections, and says the KPIs are static examples', async t => {
  const r = capture()
  t.equal(await main(['demo', '--once', '--port', '0'], r.io), 0, r.err())
  const out = r.out()
  t.match(out, /STATIC EXAMPLE VALUES/)
  t.match(out, /profile balanced/)
  t.match(out, /profile ip-conservative/)
  t.equal((out.match(/^demo\/\S+ +profile /gm) ?? []).length, 0)
  t.equal((out.match(/^ {2}demo\/\S+ +profile \S+ +→ bridge-\S+ +score \d\.\d{3}/gm) ?? []).length, 8, 'eight selections, each with where and why')
  t.match(out, /^ {6}bridge-\S+ (leads|stays leader) with score \d\.\d+ ± \d\.\d+$/m, 'the selector\'s explanation follows each decision: the leader with its band')
  t.match(out, /^ {6}(near-best: bridge-\S+ \d\.\d+, bridge-|no other plugin within the tie of bridge-)/m, '… and how it chose among the near-best')
  t.match(out, /Share of the 8 decisions: bridge-fast \d+%, bridge-capped \d+%, bridge-small \d+%/)
})

t.test('netrank agent serves until SIGTERM, then shuts down cleanly with the decision on disk', async t => {
  const dir = await tempDir(t)
  const file = join(dir, 'agent.json')
  await writeFile(file, JSON.stringify({ node: 'proc', listen: { port: 0 }, plugins: [{ name: 'only' }], audit: { dir: 'audit' } }))
  const loader = tsLoaderArgs()
  const child = spawn(process.execPath, [...loader, join(packageRoot(), 'bin', 'netrank.ts'), 'agent', '--config', file, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  let stderr = ''
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString()
      const m = /listening on (http:\/\/\S+)/.exec(stderr)
      if (m?.[1] !== undefined) resolve(m[1])
    })
    child.on('exit', (code) => reject(new Error(`agent exited early (${code}): ${stderr}`)))
  })
  const ready = await fetch(`${url}/readyz`)
  t.equal(ready.status, 200)
  const sel = await fetch(`${url}/v1/select`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'ns', pod: 'p', containerId: 'c' }) })
  t.same(await sel.json(), { plugins: ['only'], reason: 'no-fresh-kpi', decisionId: 'proc-1', profile: 'balanced' }, 'no KPI at all: ranking order on priors alone, and the reason says so')
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'graceful exit status')
  const line = JSON.parse((await readFile(join(dir, 'audit', 'audit-0001.jsonl'), 'utf8')).trim())
  t.equal(line.decisionId, 'proc-1')
})
