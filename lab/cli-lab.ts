/**
 * `netrank lab …`: a real node in network namespaces (see docs/lab.md).
 *   demo | up | down | status [--json] | pod add NAME | pod del NAME | traffic --from A --to B | agent stop|start | runtime restart
 * and the hidden `serve-stand-ins` and `serve-kubelet` that `up` starts in the background.
 */
import { join } from 'node:path'
import type { CliIo, CliValues, Command } from '../cli/command.js'
import { UsageError } from '../cli/command.js'
import { startAgent, stopAgent } from './lab-agent.js'
import { labDemo } from './lab-demo.js'
import { labDown } from './lab-down.js'
import { installShutdown } from './lab-shutdown.js'
import type { Shutdown } from './lab-shutdown.js'
import { addPod, delPod, LabCniError } from './lab-pods.js'
import { serveStandIns } from './lab-stand-ins.js'
import { serveKubelet } from './lab-kubelet.js'
import { restartContainerd } from './lab-containerd.js'
import { labDir } from './lab-state.js'
import { formatStatus, labStatus } from './lab-status.js'
import { runTraffic, startTraffic, stopTraffic } from './lab-traffic.js'
import { labUp } from './lab-up.js'

const USAGE = `netrank lab <up|down|status|pod|traffic|agent|runtime|demo> [options]

  netrank lab demo [--dir D] [--once]      up, then a narrated scenario with the live ranking; serves until
                                           Ctrl-C (--once or --no-wait: ends after the scenario), then down
  netrank lab up [--dir D]                 build the lab node (root): 4 networks, shim, stand-ins, containerd, lab kubelet, agent, probe pods
  netrank lab status [--dir D] [--json]    agent URL, kubeconfig, CNI dirs, networks, pods, processes
  netrank lab pod add NAME [--namespace NS] [--annotation k=v]... [--json]
                                           create a pod bound to lab-node; the lab kubelet has containerd network it (CRI → shim)
  netrank lab pod del NAME [--namespace NS] delete the object; the lab kubelet stops and removes its sandbox (CNI DEL)
  netrank lab traffic --from POD --to POD [--seconds N] [--parallel P] [--background] [--json]
                                           real iperf3 between two lab pods
  netrank lab traffic --stop               stop the background traffic
  netrank lab agent stop|start             stop the lab's agent (by its recorded pid) / start it again
  netrank lab runtime restart              restart the lab's containerd with its sandboxes running
  netrank lab down [--dir D]               remove everything the lab made (idempotent)

  --dir D   the lab dir (default /run/netrank-lab; NETRANK_LAB_DIR overrides the default)`

function str (v: CliValues[string]): string | undefined {
  return typeof v === 'string' ? v : undefined
}

function intOption (v: CliValues[string], name: string, dflt: number): number {
  if (v === undefined) return dflt
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new UsageError(`--${name} must be a positive integer, got '${String(v)}'`)
  return Number(v)
}

/** `--annotation k=v` repeated (parseArgs gives an array for `multiple` options). */
function annotations (v: unknown): Record<string, string> {
  const list = v === undefined ? [] : Array.isArray(v) ? v as unknown[] : [v]
  const out: Record<string, string> = {}
  for (const item of list) {
    if (typeof item !== 'string') continue
    const eq = item.indexOf('=')
    if (eq <= 0) throw new UsageError(`--annotation '${item}' is not KEY=VALUE (an empty value is fine: cni=)`)
    out[item.slice(0, eq)] = item.slice(eq + 1)
  }
  return out
}

const line = (io: CliIo) => (s: string): void => { io.stdout.write(`[lab] ${s}\n`) }

async function podCommand (values: CliValues, positionals: string[], io: CliIo, dir: string): Promise<number> {
  const [verb, name, extra] = positionals.slice(1)
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
  if (verb !== 'add' && verb !== 'del') throw new UsageError(`lab pod needs 'add' or 'del', got '${verb ?? ''}'`)
  if (name === undefined) throw new UsageError(`lab pod ${verb} needs the pod NAME`)
  const namespace = str(values.namespace)
  if (verb === 'del') {
    if (values.annotation !== undefined) throw new UsageError('--annotation is for `pod add`')
    const pod = await delPod(dir, name, namespace)
    if (values.json === true) io.stdout.write(`${JSON.stringify({ deleted: `${pod.namespace}/${pod.name}`, containerId: pod.containerId })}\n`)
    else io.stdout.write(`pod ${pod.namespace}/${pod.name} deleted (CNI DEL done, netns ${pod.netns} removed)\n`)
    return 0
  }
  try {
    const pod = await addPod(dir, { name, ...(namespace === undefined ? {} : { namespace }), annotations: annotations(values.annotation) })
    if (values.json === true) {
      io.stdout.write(`${JSON.stringify(pod)}\n`)
      return 0
    }
    io.stdout.write(`pod ${pod.namespace}/${pod.name} networked (netns ${pod.netnsPath}, container ${pod.containerId.slice(0, 12)})\n`)
    for (const i of pod.interfaces) io.stdout.write(`  ${i.ifname}  ${i.network.padEnd(14)} ${i.ips.join(', ')}${i.mac === undefined ? '' : `  ${i.mac}`}\n`)
    io.stdout.write(`  netrank.io/selection: ${pod.annotations['netrank.io/selection'] ?? '(not set)'}\n`)
    return 0
  } catch (err) {
    if (!(err instanceof LabCniError)) throw err
    if (values.json === true) io.stdout.write(`${JSON.stringify({ error: err.cni })}\n`)
    io.stderr.write(`netrank lab: ${err.message}\n`)
    return 1
  }
}

async function trafficCommand (values: CliValues, io: CliIo, dir: string): Promise<number> {
  if (values.stop === true) {
    const n = await stopTraffic(dir)
    io.stdout.write(`stopped ${n} background traffic process(es)\n`)
    return 0
  }
  const from = str(values.from)
  const to = str(values.to)
  if (from === undefined || to === undefined) throw new UsageError('lab traffic needs --from POD and --to POD (or --stop)')
  const o = { from, to, seconds: intOption(values.seconds, 'seconds', 10), parallel: intOption(values.parallel, 'parallel', 1), background: values.background === true }
  if (o.background) {
    const r = await startTraffic(dir, o)
    if (values.json === true) io.stdout.write(`${JSON.stringify(r)}\n`)
    else io.stdout.write(`traffic ${r.from} → ${r.to} (${r.toAddress}:${r.port}) for ${r.seconds} s in the background: client pid ${r.clientPid}, server pid ${r.serverPid}; \`netrank lab traffic --stop\` ends it\n`)
    return 0
  }
  const r = await runTraffic(dir, o)
  if (values.json === true) io.stdout.write(`${JSON.stringify(r)}\n`)
  else io.stdout.write(`${r.from} → ${r.to} (${r.toAddress}): ${(r.bitsPerSecond / 1e6).toFixed(1)} Mbit/s over ${r.seconds} s, ${(r.bytes / 2 ** 20).toFixed(1)} MiB, ${r.parallel} stream(s)${r.retransmits === null ? '' : `, ${r.retransmits} retransmits`}\n`)
  return 0
}

async function agentCommand (positionals: string[], io: CliIo, dir: string): Promise<number> {
  const [verb, extra] = positionals.slice(1)
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
  if (verb === 'stop') {
    const pid = await stopAgent(dir)
    io.stdout.write(pid === undefined ? 'the agent was not running\n' : `agent stopped (pid ${pid})\n`)
    return 0
  }
  if (verb === 'start') {
    const p = await startAgent(dir)
    io.stdout.write(`agent started (pid ${p.pid}, config ${p.argv[p.argv.length - 1] ?? ''})\n`)
    return 0
  }
  throw new UsageError(`lab agent needs 'stop' or 'start', got '${verb ?? ''}'`)
}

async function runtimeCommand (positionals: string[], io: CliIo, dir: string): Promise<number> {
  const [verb, extra] = positionals.slice(1)
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`)
  if (verb !== 'restart') throw new UsageError(`lab runtime needs 'restart', got '${verb ?? ''}'`)
  const r = await restartContainerd(dir)
  io.stdout.write(`containerd restarted (pid ${r.pid}, ${r.runtime}); running sandboxes kept\n`)
  return 0
}

/**
 * Runs `fn` with SIGINT, SIGTERM, SIGHUP and a closed stdout/stderr turned into an abort
 * (lab/lab-shutdown.ts): `fn` takes the lab down and returns; the exit code then says what
 * ended it (130, 143, 129; 141 for EPIPE). Once stdout is closed its lines go to `<dir>/log/<log>`.
 */
async function withShutdown (name: string, io: CliIo, dir: string, log: string, fn: (sd: Shutdown) => Promise<number>): Promise<number> {
  const sd = installShutdown({ name, stdout: io.stdout, stderr: io.stderr, fallbackLog: join(dir, 'log', log) })
  try {
    return sd.exitCode(await fn(sd))
  } finally {
    sd.dispose()
  }
}

async function demoCommand (values: CliValues, io: CliIo, dir: string): Promise<number> {
  return await withShutdown('netrank lab demo', io, dir, 'demo.log', async (sd) =>
    await labDemo(dir, { once: values.once === true || values['no-wait'] === true, out: sd.out, signal: sd.signal }))
}

/** `up`, which takes back what it made when it fails or is interrupted while it builds. */
async function upCommand (io: CliIo, dir: string): Promise<number> {
  return await withShutdown('netrank lab up', io, dir, 'up.log', async (sd) => {
    try {
      await labUp(dir, (l) => { sd.out(`[lab] ${l}\n`) }, sd.signal)
      return 0
    } catch (err) {
      sd.err(`netrank lab up: ${(err as Error).message}${sd.signal.aborted ? ': what it had made is removed' : ''}\n`)
      return 1
    }
  })
}

export const labCommand: Command = {
  name: 'lab',
  summary: 'a real node in network namespaces: real CNI plugins, traffic and probes, the whole pipeline (root)',
  usage: USAGE,
  options: {
    dir: { type: 'string' },
    json: { type: 'boolean', default: false },
    namespace: { type: 'string', short: 'n' },
    annotation: { type: 'string', multiple: true, short: 'a' },
    from: { type: 'string' },
    to: { type: 'string' },
    seconds: { type: 'string' },
    parallel: { type: 'string', short: 'P' },
    background: { type: 'boolean', default: false },
    stop: { type: 'boolean', default: false },
    once: { type: 'boolean', default: false },
    'no-wait': { type: 'boolean', default: false },
  },
  positionals: 3,
  async run (values, positionals, io) {
    const [sub] = positionals
    if (sub === undefined) throw new UsageError('lab needs a subcommand: demo, up, down, status, pod, traffic or agent')
    const dir = labDir(str(values.dir), io.env)
    if (sub !== 'pod' && sub !== 'agent' && sub !== 'runtime' && positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1] ?? ''}'`)
    switch (sub) {
      case 'up':
        return await upCommand(io, dir)
      case 'down': {
        const r = await labDown(dir, line(io))
        for (const p of r.problems) io.stderr.write(`netrank lab down: ${p}\n`)
        if (!r.nothing) io.stdout.write(`[lab] down: ${r.stopped.length} process(es) stopped, ${r.deleted.length} pod(s) deleted\n`)
        return r.problems.some((p) => p.includes('still running')) ? 1 : 0
      }
      case 'status': {
        const st = labStatus(dir)
        io.stdout.write(values.json === true ? `${JSON.stringify(st, null, 2)}\n` : formatStatus(st))
        return 0
      }
      case 'pod':
        return await podCommand(values, positionals, io, dir)
      case 'traffic':
        return await trafficCommand(values, io, dir)
      case 'agent':
        return await agentCommand(positionals, io, dir)
      case 'runtime':
        return await runtimeCommand(positionals, io, dir)
      case 'demo':
        return await demoCommand(values, io, dir)
      case 'serve-kubelet':
        await serveKubelet(dir)
        return 0
      case 'serve-stand-ins':
        await serveStandIns(dir)
        return 0
      default:
        throw new UsageError(`unknown lab subcommand '${sub}' (demo, up, down, status, pod, traffic, agent, runtime)`)
    }
  },
}
