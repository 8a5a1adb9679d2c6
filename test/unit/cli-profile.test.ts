// `netrank profile ask` against a running agent: questions on stdin (or flags), the
// ranking for the workload, then annotations or an operator profile the agent accepts.
import { Readable } from 'node:stream'
import { createServer } from 'node:net'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { parse as parseYaml } from 'yaml'
import { startAgent } from '../../agent/start-agent.js'
import { parseConfig, profileOf } from '../../agent/config/load-config.js'
import { main } from '../../cli/main.js'

function capture (stdinLines?: string[]) {
  const out: string[] = []
  const err: string[] = []
  const stdin = stdinLines === undefined ? undefined : Readable.from([stdinLines.map((l) => `${l}\n`).join('')])
  return {
    io: { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) }, env: {}, ...(stdin !== undefined ? { stdin } : {}) },
    out: () => out.join(''),
    err: () => err.join(''),
    /** a stream nobody consumed has never been switched to flowing (readableFlowing null) */
    read: () => stdin !== undefined && stdin.readableFlowing !== null,
  }
}

const PLUGINS = [{ name: 'fast' }, { name: 'thin' }]
async function agent (t: Test) {
  const dir = await mkdtemp(join(tmpdir(), 'nr-cli-profile-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const config = parseConfig({
    node: 'ask-node',
    listen: { port: 0 },
    plugins: PLUGINS,
    collectors: {
      static: {
        kpis: [
          // fast: 10 Gbit/s, 0.5 ms; thin: 200 Mbit/s, 0.1 ms — a latency pod prefers thin, a 500M pod fast
          { plugin: 'fast', kpi: 'capacityBps', value: 1e10 }, { plugin: 'fast', kpi: 'rxBps', value: 1e9 }, { plugin: 'fast', kpi: 'txBps', value: 1e9 },
          { plugin: 'fast', kpi: 'latencySeconds', value: 0.0005 },
          { plugin: 'thin', kpi: 'capacityBps', value: 2e8 }, { plugin: 'thin', kpi: 'rxBps', value: 1e6 }, { plugin: 'thin', kpi: 'txBps', value: 1e6 },
          { plugin: 'thin', kpi: 'latencySeconds', value: 0.0001 },
        ],
      },
    },
    audit: { dir },
  })
  const running = await startAgent(config, { logger: false, handleSignals: false })
  t.teardown(() => running.close())
  await running.agent.runCollectorsOnce()
  return running.url
}

t.test('interactive: five questions, then the winners for this workload and the annotations', async t => {
  const url = await agent(t)
  const r = capture(['y', '', 'n', 'n', 'n'])
  t.equal(await main(['profile', 'ask', '--url', url], r.io), 0, r.err())
  const out = r.out()
  t.equal((out.match(/\? (\[y\/N\]|\(200M)/g) ?? []).length, 5, 'five questions asked')
  t.match(out, /Nearest built-in profile: latency — latency is this workload's need: the latency profile weighs it most/)
  t.match(out, /Expected bandwidth per pod: not known/)
  t.match(out, /On node ask-node, for this workload \(profile latency\):\n {2}1\. thin: score \d\.\d{3} ± \d\.\d{3}, coverage 100\.0%, after this pod rx [\d.]+% \/ tx [\d.]+%\n/, 'the low-latency network wins')
  t.match(out, /Pod annotations:\n {2}cni: ""\n {2}netrank\.io\/profile: "latency"\n+$/)
})

t.test('a bad answer is asked again; three bad answers are a usage error (exit 2)', async t => {
  const url = await agent(t)
  const again = capture(['maybe', 'yes', 'lots', '500M', 'n', 'n', 'n'])
  t.equal(await main(['profile', 'ask', '--url', url], again.io), 0, again.err())
  t.match(again.out(), /please answer y or n/)
  t.match(again.out(), / {2}"lots" is not a rate: use 200M/)
  t.match(again.out(), /Nearest built-in profile: balanced — latency and bulk transfer: balanced is the nearest built-in/)
  t.match(again.out(), /netrank\.io\/expected-bandwidth: "500M"/)
  const bad = capture(['perhaps', 'dunno', 'what'])
  t.equal(await main(['profile', 'ask', '--url', url], bad.io), 2)
  t.match(bad.err(), /^netrank profile: no y\/n answer after 3 tries to: Is the workload latency-sensitive/)
  const ended = capture(['y'])
  t.equal(await main(['profile', 'ask', '--url', url], ended.io), 2)
  t.match(ended.err(), /^netrank profile: stdin ended before question 2 was answered; for scripts, pass --yes with the flags/)
})

t.test('non-interactive: --yes with flags reads no stdin; --json carries the ranking the agent made for that demand', async t => {
  const url = await agent(t)
  const r = capture(['y', 'y', 'y', 'y', 'y'])
  t.equal(await main(['profile', 'ask', '--url', url, '--yes', '--bandwidth', '{"rx":"500M","tx":"50M"}', '--bursty', '--json'], r.io), 0, r.err())
  t.equal(r.read(), false, 'stdin not read')
  const j = JSON.parse(r.out())
  t.equal(j.builtin, 'throughput')
  t.equal(j.expectedBandwidth, '{"rx":"500M","tx":"50M"}')
  t.same(j.answers, { latencySensitive: false, bursty: true, costSensitive: false, manyAddresses: false, bandwidth: '{"rx":"500M","tx":"50M"}' })
  t.same(j.ranking.demand, { rxBps: 500e6, txBps: 50e6, source: 'query' }, 'the agent ranked for the declared demand')
  t.equal(j.ranking.profile, 'throughput')
  t.equal(j.ranking.plugins[0].plugin, 'fast', 'thin cannot carry 500M: fast wins')
  t.ok(j.ranking.plugins.find((p: { plugin: string }) => p.plugin === 'thin').predicted.rxUtilisation > 2, 'thin would be at 250 %')
  t.same(j.annotations, { cni: '', 'netrank.io/profile': 'throughput', 'netrank.io/expected-bandwidth': '{"rx":"500M","tx":"50M"}' })
})

t.test('--output profile prints an operator profile the agent config accepts, and annotations that use it', async t => {
  const url = await agent(t)
  const r = capture()
  t.equal(await main(['profile', 'ask', '--url', url, '--yes', '--many-addresses', '--cost-sensitive', '--bandwidth', '20M', '--output', 'profile', '--name', 'batch-jobs'], r.io), 0, r.err())
  const out = r.out()
  const yaml = out.slice(out.indexOf('selector:'), out.indexOf('\nPod annotations:'))
  const sel = (parseYaml(yaml) as { selector: Record<string, unknown> }).selector
  const config = parseConfig({ plugins: PLUGINS, selector: sel })
  const p = profileOf(config, 'batch-jobs')
  t.ok(p !== undefined, 'the agent loads it')
  t.same(p?.demand, { rxBps: 20e6, txBps: 20e6 })
  t.ok((p?.weights.occupancy ?? 0) > (p?.weights.latency ?? 1) && (p?.weights.cost ?? 0) > (p?.weights.latency ?? 1), `pool room and cost weigh most: ${JSON.stringify(p?.weights)}`)
  t.match(out, /netrank\.io\/profile: "batch-jobs"/)
})

t.test('the agent down: the advice still prints, a warning says why (exit 0)', async t => {
  const port = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const a = srv.address()
      srv.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0))
    })
  })
  const r = capture()
  t.equal(await main(['profile', 'ask', '--url', `http://127.0.0.1:${port}`, '--yes', '--latency-sensitive'], r.io), 0)
  t.match(r.err(), /^netrank profile: no ranking from the agent \(cannot reach the agent at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/)
  t.match(r.out(), /Nearest built-in profile: latency/)
  t.match(r.out(), /netrank\.io\/profile: "latency"/)
  t.notMatch(r.out(), /On node/)
})

t.test('bad arguments are usage errors (exit 2) that name the value', async t => {
  const cases: Array<[string[], RegExp]> = [
    [['profile'], /what to do\? `netrank profile ask`/],
    [['profile', 'tell'], /unknown subcommand 'tell' \(known: ask\)/],
    [['profile', 'ask', '--yes', '--bandwidth', 'fast'], /--bandwidth "fast": "fast" is not a rate/],
    [['profile', 'ask', '--yes', '--bandwidth=-5M'], /--bandwidth "-5M": "-5M" is negative/],
    [['profile', 'ask', '--yes', '--output', 'yaml'], /--output must be annotations or profile, got 'yaml'/],
    [['profile', 'ask', '--yes', '--name', 'no spaces'], /--name 'no spaces' is not a profile name/],
    [['profile', 'ask', '--url', 'localhost:9797'], /--url must start with http:\/\//],
  ]
  for (const [argv, msg] of cases) {
    const r = capture()
    t.equal(await main(argv, r.io), 2, argv.join(' '))
    t.match(r.err(), msg, argv.join(' '))
  }
})
