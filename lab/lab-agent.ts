/**
 * `netrank lab agent stop|start`: stops the lab's agent by its recorded pid (the demo's
 * "agent down: pods still get networked by fallback"), and starts it again with the same
 * config and port, so the shim conf's selector URL stays right.
 */
import { join } from 'node:path'
import { LAB_DEFAULTS } from './lab-defaults.js'
import { buildPaths } from './lab-paths.js'
import { isRunning, spawnDetached, stopProcess } from './lab-process.js'
import { requireState, updateState } from './lab-state.js'
import type { LabProcess, LabState } from './lab-state.js'
import { setTimeout as sleep } from 'node:timers/promises'


/** The agent's command line for a lab: the build's CLI with the lab's config. */
export function agentArgv (s: LabState): string[] {
  return [process.execPath, buildPaths().cli, 'agent', '--config', s.paths.agentConfig]
}

/** Resolves once `{url}/healthz` answers 200; throws when the process dies or after waitReadyMs. */
export async function waitAgentHealthy (url: string, proc: LabProcess | undefined, waitMs: number = LAB_DEFAULTS.waitReadyMs): Promise<void> {
  const deadline = Date.now() + waitMs
  while (Date.now() < deadline) {
    const ok = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false)
    if (ok) return
    if (proc !== undefined && !isRunning(proc)) throw new Error(`the agent exited; see ${proc.log ?? 'its log'}`)
    await sleep(LAB_DEFAULTS.pollMs)
  }
  throw new Error(`the agent at ${url} did not answer /healthz within ${waitMs / 1000} s${proc?.log === undefined ? '' : `; see ${proc.log}`}`)
}

/** Stops the running agent (SIGTERM, SIGKILL after the grace). Resolves with its pid, or undefined when none ran. */
export async function stopAgent (dir: string): Promise<number | undefined> {
  const s = requireState(dir)
  const running = s.processes.filter((p) => p.role === 'agent' && isRunning(p))
  for (const p of running) await stopProcess(p)
  updateState(dir, (st) => { st.processes = st.processes.filter((p) => p.role !== 'agent' || isRunning(p)) })
  return running[0]?.pid
}

/** Starts the agent again on the lab's port and config; waits for /healthz. Throws when one runs already. */
export async function startAgent (dir: string): Promise<LabProcess> {
  const s = requireState(dir)
  if (s.phase !== 'up') throw new Error(`the lab in ${dir} is not up (phase ${s.phase})`)
  const url = s.agent?.url
  if (url === undefined) throw new Error(`the lab in ${dir} has no agent address`)
  const running = s.processes.find((p) => p.role === 'agent' && isRunning(p))
  if (running !== undefined) throw new Error(`the agent already runs (pid ${running.pid}, ${url})`)
  const agent = spawnDetached('agent', agentArgv(s), join(s.paths.logDir, 'agent.log'))
  updateState(dir, (st) => { st.processes = [...st.processes.filter((p) => p.role !== 'agent'), agent] })
  await waitAgentHealthy(url, agent)
  return agent
}
