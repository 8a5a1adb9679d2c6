// Agent HTTP benchmark: autocannon on loopback against /v1/select and /rank of an agent
// built from examples/agent.example.yaml, next to bare fastify routes measured in the same
// run that answer a precomputed body of the same size (GET for /rank, POST with a parsed
// JSON body for /v1/select). /v1/select writes its audit line to the OS before answering,
// as in production (concurrent decisions share one write; the fdatasync follows in the
// background within 100 ms); a second /v1/select row at more connections is informational.
// Targets: ≥ 0.8 of the bare route's throughput, p99 ≤ 5 ms at that load.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import autocannon from 'autocannon'
import Fastify from 'fastify'
import { startAgent } from '../agent/start-agent.js'
import { loadConfig } from '../agent/config/load-config.js'
import { exampleConfigPath } from '../cli/package-root.js'
import type { BenchRun } from './types.js'

const BENCH = Object.freeze({
  connections: 10, // concurrent keep-alive connections: a busy node's shim calls plus scrapers
  manyConnections: 50, // informational row: larger commit groups
  warmupSeconds: 1,
  durationSeconds: 5, // per target
  ratioTarget: 0.8, // of the bare route's req/s
  p99TargetMs: 5,
})

interface Measured { reqPerSec: number, p50Ms: number, p99Ms: number, requests: number, non2xx: number, errors: number }

async function load (url: string, opts: { method?: 'GET' | 'POST', body?: string, connections?: number } = {}): Promise<Measured> {
  const common = {
    url,
    connections: opts.connections ?? BENCH.connections,
    method: opts.method ?? 'GET',
    ...(opts.body !== undefined ? { body: opts.body, headers: { 'content-type': 'application/json' } } : {}),
    // the load generator runs in a worker thread so it does not share the server's event loop
    workers: 1,
  } as const
  await autocannon({ ...common, duration: BENCH.warmupSeconds })
  const r = await autocannon({ ...common, duration: BENCH.durationSeconds })
  return {
    reqPerSec: r.requests.average,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    requests: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  }
}

export const run: BenchRun = async () => {
  const auditDir = await mkdtemp(join(tmpdir(), 'netrank-bench-audit-'))
  const config = await loadConfig(exampleConfigPath(), {})
  config.listen.port = 0
  config.audit.dir = auditDir
  const agent = await startAgent(config, { logger: false, handleSignals: false })
  const bare = Fastify({ logger: false })
  try {
    await agent.agent.runCollectorsOnce()
    const rankBody = await (await fetch(`${agent.url}/rank`)).text()
    const selectReq = JSON.stringify({ namespace: 'bench', pod: 'bench-pod', podUid: '7f9c2ba4-e88f-11e8-9f32-f2801f1b9fd1', containerId: 'b'.repeat(64), ifname: 'eth0' })
    const selectBody = await (await fetch(`${agent.url}/v1/select`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: selectReq })).text()
    bare.get('/bare', async (_req, reply) => reply.type('application/json; charset=utf-8').send(rankBody))
    bare.post('/bare', async (req, reply) => {
      if (typeof (req.body as { pod?: unknown }).pod !== 'string') throw new Error('bad body')
      return reply.type('application/json; charset=utf-8').send(selectBody)
    })
    const bareUrl = await bare.listen({ host: '127.0.0.1', port: 0 })

    // baselines first, then the agent, all in this run
    const bareGet = await load(`${bareUrl}/bare`)
    const rank = await load(`${agent.url}/rank`)
    const barePost = await load(`${bareUrl}/bare`, { method: 'POST', body: selectReq })
    const sel = await load(`${agent.url}/v1/select`, { method: 'POST', body: selectReq })
    const barePostMany = await load(`${bareUrl}/bare`, { method: 'POST', body: selectReq, connections: BENCH.manyConnections })
    const selMany = await load(`${agent.url}/v1/select`, { method: 'POST', body: selectReq, connections: BENCH.manyConnections })
    const decisions = agent.agent.audit.lastSeq

    const rows: Array<[string, Measured, Measured, boolean]> = [
      [`GET /rank (${rankBody.length} B), ${BENCH.connections} connections`, rank, bareGet, true],
      [`POST /v1/select (${selectBody.length} B, audited), ${BENCH.connections} connections`, sel, barePost, true],
      [`POST /v1/select, ${BENCH.manyConnections} connections (informational)`, selMany, barePostMany, false],
    ]
    let met = true
    const fmt = (n: number, d = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d })
    const table = [
      '| route | req/s | p50 ms | p99 ms | bare route req/s | bare p50 ms | bare p99 ms | ratio (≥ 0.8) | p99 ≤ 5 ms | errors / non-2xx |',
      '|---|---:|---:|---:|---:|---:|---:|---:|:---:|---:|',
    ]
    for (const [name, m, b, counts] of rows) {
      const ratio = m.reqPerSec / b.reqPerSec
      const ok = ratio >= BENCH.ratioTarget && m.p99Ms <= BENCH.p99TargetMs && m.errors === 0 && m.non2xx === 0
      if (counts) met &&= ok
      table.push(`| ${name} | ${fmt(m.reqPerSec)} | ${fmt(m.p50Ms, 2)} | ${fmt(m.p99Ms, 2)} | ${fmt(b.reqPerSec)} | ${fmt(b.p50Ms, 2)} | ${fmt(b.p99Ms, 2)} | ${ratio.toFixed(2)} ${ratio >= BENCH.ratioTarget ? '✓' : '✗'} | ${m.p99Ms <= BENCH.p99TargetMs ? '✓' : '✗'} | ${m.errors} / ${m.non2xx} |`)
    }
    const markdown = [
      `autocannon, ${BENCH.durationSeconds} s per route after ${BENCH.warmupSeconds} s of warm-up, load generator in a worker thread, ` +
      'server and baseline in the main thread of one process on 127.0.0.1. The agent runs the example config (3 networks, static KPIs). ' +
      'Baselines, measured in the same run: a bare fastify GET answering the precomputed /rank body (same bytes), and a bare fastify POST that parses ' +
      'the same JSON request and answers a precomputed /v1/select body (same bytes).',
      '',
      ...table,
      '',
      `/v1/select made ${fmt(decisions)} decisions during the run, each written to the audit (to the OS) before its answer, ` +
      'the fdatasync in the background within 100 ms: the disk\'s sync latency is no longer part of a /v1/select figure. ' +
      'Every decision ranks the plugins with the phantom load of the recent placements (up to 2,048 at this rate): that CPU, ' +
      'not the disk, is what separates /v1/select from the bare route. Latencies are autocannon\'s, at 1 ms resolution. ' +
      'Only the two 10-connection rows count for the targets.',
    ].join('\n')
    return {
      title: 'Agent HTTP: /v1/select and /rank vs a bare fastify route',
      command: 'npm run build && node dist/bench/agent-http.bench.js',
      markdown,
      targetsMet: met,
    }
  } finally {
    await bare.close()
    await agent.close()
    await rm(auditDir, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const s = await run()
  console.log(`## ${s.title}\n\n${s.markdown}\n\ntargets met: ${s.targetsMet}`)
}
