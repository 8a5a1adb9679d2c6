// A real agent process (`netrank agent --config`, from the build) for system tests: static
// KPIs that make the first plugin far better than the others, no live collectors, its
// unix socket in the test's dir, Kubernetes through the given kubeconfig; ready (/readyz)
// before it is returned, killed at teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { buildPaths } from '../../lab/lab-paths.js'
import { freePort } from './free-port.js'
import type { TestLike } from './netns.js'

export interface RunningAgentProcess { child: ChildProcess, url: string, socket: string, configPath: string }

export async function startAgentProcess (t: TestLike, dir: string, o: { node: string, kubeconfig: string, plugins: string[], extra?: Record<string, unknown> }): Promise<RunningAgentProcess> {
  const port = await freePort()
  const socket = join(dir, 'run', 'agent.sock')
  const configPath = join(dir, 'agent.json')
  writeFileSync(configPath, JSON.stringify({
    node: o.node,
    listen: { host: '127.0.0.1', port, socket },
    plugins: o.plugins.map((name) => ({ name })),
    collectors: {
      static: { kpis: o.plugins.flatMap((plugin, i) => [{ plugin, kpi: 'latencySeconds', value: i === 0 ? 0.0001 : 0.05 }, { plugin, kpi: 'capacityBps', value: i === 0 ? 1e10 : 1e8 }]) },
      cadvisor: { enabled: false },
      probes: { enabled: false },
      ipam: { enabled: false },
    },
    selector: { exploreEvery: 0 },
    audit: { dir: join(dir, 'audit') },
    kubernetes: { kubeconfig: o.kubeconfig },
    ...o.extra,
  }))
  return await runAgentProcess(t, configPath, `http://127.0.0.1:${port}`, socket)
}

/** (Re)starts the agent of `configPath` and waits for /readyz. */
export async function runAgentProcess (t: TestLike, configPath: string, url: string, socket: string): Promise<RunningAgentProcess> {
  const child = spawn(process.execPath, [buildPaths().cli, 'agent', '--config', configPath], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } })
  let stderr = ''
  child.stderr?.on('data', (b: Buffer) => { stderr = (stderr + b.toString('utf8')).slice(-4000) })
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGCONT'); child.kill('SIGKILL') } })
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`the agent exited (${child.exitCode}): ${stderr}`)
    // ready: collectors ran once, the plan service's informer listed this node's pods (and a shim token is minted, when enabled)
    if (existsSync(socket) && await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false)) break
    if (i > 200) throw new Error(`the agent did not become ready within 20 s: ${stderr}`)
    await sleep(100)
  }
  return { child, url, socket, configPath }
}
