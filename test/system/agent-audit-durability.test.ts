// The audit's durability guarantee, on the real agent process: /v1/select answers once the
// decision is written to the OS (its fdatasync follows within 100 ms), so an agent that is
// SIGKILLed right after answering loses nothing — every answered decision is back after the
// restart. (A machine crash can lose the last 100 ms: the pods' records and annotations carry
// those; that cannot be tested here.)
import t from 'tap'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildPaths } from '../../lab/lab-paths.js'
import { skip } from '../support/netns.js'
import type { TestLike } from '../support/netns.js'
import { freePort } from '../support/free-port.js'

const SELECTS = 400
const WIDTH = 10 // concurrent requests, as a burst of pods would send them


function startAgent (t: TestLike, configPath: string): ChildProcess {
  const child = spawn(process.execPath, [buildPaths().cli, 'agent', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return child
}

async function waitHealthy (url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode})`)
    if (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false)) return
    await sleep(100)
  }
  throw new Error('the agent did not become healthy within 20 s')
}

t.test('400 answered selects, then SIGKILL: all 400 decisions are in /v1/decisions after the restart', async (t) => {
  const cli = buildPaths().cli
  if (!existsSync(cli)) { skip(t, `needs the build (npm run build): missing ${cli}`); return }
  const dir = mkdtempSync(join(tmpdir(), 'nr-audit-kill-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const configPath = join(dir, 'agent.json')
  writeFileSync(configPath, JSON.stringify({
    node: 'nr-kill',
    listen: { host: '127.0.0.1', port },
    plugins: [{ name: 'net-a' }, { name: 'net-b' }],
    collectors: { static: { kpis: ['net-a', 'net-b'].flatMap((plugin) => [{ plugin, kpi: 'latencySeconds', value: 0.0001 }, { plugin, kpi: 'capacityBps', value: 1e9 }]) } },
    audit: { dir: join(dir, 'audit') },
  }))
  const first = startAgent(t, configPath)
  await waitHealthy(url, first)
  const answered: string[] = []
  for (let i = 0; i < SELECTS; i += WIDTH) {
    const batch = await Promise.all(Array.from({ length: Math.min(WIDTH, SELECTS - i) }, async (_, k) => {
      const n = i + k
      const res = await fetch(`${url}/v1/select`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'default', pod: `p-${n}`, containerId: `c${n}`, ifname: 'eth0' }) })
      if (!res.ok) throw new Error(`select ${n}: HTTP ${res.status} ${await res.text()}`)
      return ((await res.json()) as { decisionId: string }).decisionId
    }))
    answered.push(...batch)
  }
  // the instant the last answer is in: no grace for a background sync
  first.kill('SIGKILL')
  await new Promise((resolve) => first.once('exit', resolve))
  t.equal(first.signalCode, 'SIGKILL', 'killed, not shut down')
  t.equal(new Set(answered).size, SELECTS, `${SELECTS} distinct decisions answered`)

  const second = startAgent(t, configPath)
  await waitHealthy(url, second)
  const res = await fetch(`${url}/v1/decisions?limit=1000`)
  const back = ((await res.json()) as { decisions: Array<{ decisionId: string }> }).decisions.map((d) => d.decisionId)
  const missing = answered.filter((id) => !back.includes(id))
  t.same(missing, [], `all ${SELECTS} answered decisions are back (${back.length} read)`)
  const after = await fetch(`${url}/v1/select`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ namespace: 'default', pod: 'p-after', containerId: 'cafter', ifname: 'eth0' }) })
  const next = ((await after.json()) as { decisionId: string }).decisionId
  t.notOk(answered.includes(next), `the sequence goes on after the restart (${next}), no decision id reused`)
  second.kill('SIGTERM')
  await new Promise((resolve) => second.once('exit', resolve))
})
