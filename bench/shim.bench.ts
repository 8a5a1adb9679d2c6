// netrank-cni overhead: median wall time of the shim's ADD and DEL on the explicit,
// default and smart paths (Kubernetes API stand-in for the pod, a loopback stand-in for
// the agent's /v1/select), next to calling the delegate (bridge + host-local) directly,
// in the same run, for the bundle (node dist/cni/netrank-cni.cjs) and the self-contained
// executable (dist/bin/netrank-cni). NODE_EXTRA_CA_CERTS is removed from the env: the
// kubelet does not set it and it costs every node start ~90 ms on this machine.
// Two paths per row kind: the agent path (a real agent in this process, its socket, its informer
// on the stand-in; docs/cni-shim.md#two-paths) and the direct path (agent.socket off: the shim's
// own TLS GET, /v1/select to the loopback stand-in, its own PATCH).
// Targets (agent path): ADD overhead ≤ (node -e 0) + 10 ms for explicit, default and smart;
// DEL overhead ≤ (node -e 0) + 5 ms. The direct path's figures are reported beside them.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { pathToFileURL } from 'node:url'
import { median } from 'simple-statistics'
import { startKubeApiStandIn } from '../lab/stand-ins/kube-api-stand-in.js'
import { createAgent } from '../agent/agent.js'
import { parseConfig } from '../agent/config/load-config.js'
import { buildSocketServer, listenOnSocket } from '../agent/http/socket-server.js'
import { packageRoot } from '../cli/package-root.js'
import type { BenchRun } from './types.js'

const BENCH = Object.freeze({
  runs: 15, // ADD+DEL cycles per variant
  warmup: 2, // cycles run first and not counted (page cache, first TLS handshake)
  addOverNodeMs: 10, // ADD overhead target above the `node -e 0` median
  delOverNodeMs: 5, // DEL overhead target above the `node -e 0` median
  pluginDir: '/usr/lib/cni',
})

interface Variant { label: string, shim: 'bundle' | 'executable' | 'direct' | 'node', path: 'explicit' | 'default' | 'smart' | 'delegate' | 'none', route?: 'agent' | 'direct' }

function exec (binary: string, args: string[], env: Record<string, string>, stdin: string): Promise<{ ms: number, code: number | null, out: string }> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { env, stdio: ['pipe', 'pipe', 'ignore'] })
    const out: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.on('error', reject)
    child.on('close', (code) => resolve({ ms: performance.now() - started, code, out: Buffer.concat(out).toString('utf8') }))
    child.stdin.end(stdin)
  })
}

// NETRANK_SHIM_DIST=DIR measures another build-shim output dir (scripts/build-shim.mjs --out DIR)
function shimBinaries (root: string, scratch: string): { bundle: string, exe: string } {
  const dist = process.env.NETRANK_SHIM_DIST ?? join(root, 'dist')
  let bundle = join(dist, 'cni', 'netrank-cni.cjs')
  let exe = join(dist, 'bin', 'netrank-cni')
  if (!existsSync(bundle) || !existsSync(exe)) {
    execFileSync(process.execPath, [join(root, 'scripts', 'build-shim.mjs'), '--out', scratch], { stdio: ['ignore', 'ignore', 'inherit'] })
    bundle = join(scratch, 'cni', 'netrank-cni.cjs')
    exe = join(scratch, 'bin', 'netrank-cni')
  }
  return { bundle, exe }
}

const f = (n: number): string => n.toFixed(1)

/** Runs the benchmark (root and the CNI plugins needed). */
export const run: BenchRun = async () => {
  const title = 'CNI shim: netrank-cni ADD/DEL vs the delegate plugin called directly'
  const command = 'npm run build && node dist/bench/shim.bench.js'
  if (process.getuid?.() !== 0 || !existsSync(join(BENCH.pluginDir, 'bridge'))) {
    return { title, command, markdown: 'Skipped: needs root and the CNI plugins in /usr/lib/cni.', targetsMet: false }
  }
  // a shared 2-core machine: the load says how much to trust the medians
  const loadBefore = loadavg()[0] ?? 0
  const cpus = availableParallelism()
  const root = packageRoot()
  const dir = mkdtempSync(join(tmpdir(), 'nr-shim-bench-'))
  const nsName = `nrbench${process.pid.toString(36)}`.slice(0, 15)
  const bridge = `nrbb${process.pid.toString(36)}`.slice(0, 15)
  const kube = await startKubeApiStandIn({ dir: join(dir, 'kube') })
  const agent = createServer((req, res) => {
    req.resume()
    req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"plugins":["nr-bench"],"reason":"smart","decisionId":"bench"}') })
  })
  await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r))
  // the real agent of the agent path: its informer of this node's pods on the stand-in, its socket
  const real = await createAgent(parseConfig({
    node: 'nr-bench-node',
    plugins: [{ name: 'nr-bench' }],
    collectors: { static: { kpis: [{ plugin: 'nr-bench', kpi: 'latencySeconds', value: 0.0001 }, { plugin: 'nr-bench', kpi: 'capacityBps', value: 1e10 }] } },
    selector: { exploreEvery: 0 },
    audit: { dir: join(dir, 'audit') },
    kubernetes: { kubeconfig: kube.kubeconfigPath },
  }))
  await real.runCollectorsOnce()
  const socketApp = await buildSocketServer(real)
  const socket = join(dir, 'run', 'agent.sock')
  await listenOnSocket(socketApp, socket)
  real.warmPlanCache()
  try {
    const { bundle, exe } = shimBinaries(root, join(dir, 'build'))
    const confDir = join(dir, 'net.d')
    const cniPath = join(dir, 'bin')
    mkdirSync(confDir)
    mkdirSync(cniPath)
    for (const p of readdirSync(BENCH.pluginDir)) symlinkSync(join(BENCH.pluginDir, p), join(cniPath, p))
    const bridgeConf = { type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', subnet: '10.233.77.0/24', dataDir: join(dir, 'ipam') } }
    writeFileSync(join(confDir, '10-nr-bench.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'nr-bench', plugins: [bridgeConf] }))
    execFileSync('ip', ['netns', 'add', nsName])
    const netns = `/var/run/netns/${nsName}`
    const shimConf = (pathKind: string, route: 'agent' | 'direct'): string => JSON.stringify({
      cniVersion: '1.0.0', name: 'netrank', type: 'netrank-cni',
      kubeconfig: kube.kubeconfigPath, confDir, stateDir: join(dir, 'state'), logFile: join(dir, 'cni.log'), logLevel: 'info',
      defaultPlugins: pathKind === 'smart' ? [] : ['nr-bench'],
      selector: { url: `http://127.0.0.1:${(agent.address() as AddressInfo).port}`, timeoutMs: 300 },
      agent: { socket: route === 'agent' ? socket : '' },
    })
    const annotations: Record<string, Record<string, string>> = { explicit: { cni: 'nr-bench' }, default: {}, smart: { cni: '' } }
    for (const [name, ann] of Object.entries(annotations)) {
      kube.putPod({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `bench-${name}`, namespace: 'default', uid: `uid-bench-${name}`, annotations: ann }, spec: { nodeName: 'nr-bench-node' } })
    }
    // the informer has this node's pods before the first agent-path ADD
    for (let i = 0; i < 100 && !real.readiness().ready; i++) await new Promise((r) => setTimeout(r, 50))
    const baseEnv: Record<string, string> = {}
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== 'NODE_EXTRA_CA_CERTS') baseEnv[k] = v

    const variants: Variant[] = [
      // DEL with the ADD result as prevResult, as a runtime sends it (libcni's cached result, CNI ≥ 0.4.0);
      // the shim's DEL passes it too, and bridge's DEL is ~8 ms slower with it
      { label: 'bridge + host-local directly', shim: 'direct', path: 'delegate' },
      { label: 'bridge + host-local directly, DEL without prevResult', shim: 'direct', path: 'none' },
      // the floor under any Node.js shim: starting the runtime with an empty script (and the SEA executable's own start)
      { label: 'node -e 0 (Node.js start alone)', shim: 'node', path: 'none' },
    ]
    for (const route of ['agent', 'direct'] as const) {
      for (const shim of ['bundle', 'executable'] as const) {
        for (const path of ['explicit', 'default', 'smart'] as const) variants.push({ label: `netrank-cni ${shim}, ${path}, ${route} path`, shim, path, route })
      }
    }
    const results = new Map<string, { add: number[], del: number[] }>()
    for (const v of variants) results.set(v.label, { add: [], del: [] })
    // interleave variants round by round so machine noise spreads over all of them
    for (let round = 0; round < BENCH.warmup + BENCH.runs; round++) {
      for (const v of variants) {
        const id = `nrbench${round}${v.shim}${v.path}${v.route ?? ''}`
        const env = { ...baseEnv, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: cniPath, CNI_ARGS: `IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=bench-${v.path};K8S_POD_UID=uid-bench-${v.path}` }
        let binary: string
        let args: string[] = []
        let stdin: string
        if (v.shim === 'node') {
          const a = await exec(process.execPath, ['-e', '0'], env, '')
          const d = await exec(process.execPath, ['-e', '0'], env, '')
          if (round >= BENCH.warmup) { results.get(v.label)?.add.push(a.ms); results.get(v.label)?.del.push(d.ms) }
          continue
        }
        if (v.shim === 'direct') {
          binary = join(cniPath, 'bridge')
          stdin = JSON.stringify({ ...bridgeConf, name: 'nr-bench', cniVersion: '1.0.0' })
        } else {
          binary = v.shim === 'bundle' ? process.execPath : exe
          if (v.shim === 'bundle') args = [bundle]
          stdin = shimConf(v.path, v.route ?? 'direct')
        }
        const add = await exec(binary, args, { ...env, CNI_COMMAND: 'ADD' }, stdin)
        if (add.code !== 0) throw new Error(`${v.label}: ADD failed: ${add.out}`)
        const delStdin = v.shim === 'direct' && v.path === 'delegate' ? JSON.stringify({ ...JSON.parse(stdin) as object, prevResult: JSON.parse(add.out) as unknown }) : stdin
        const del = await exec(binary, args, { ...env, CNI_COMMAND: 'DEL' }, delStdin)
        if (del.code !== 0) throw new Error(`${v.label}: DEL failed: ${del.out}`)
        if (round >= BENCH.warmup) {
          results.get(v.label)?.add.push(add.ms)
          results.get(v.label)?.del.push(del.ms)
        }
      }
    }
    const base = results.get(variants[0]?.label ?? '') ?? { add: [0], del: [0] }
    const baseAdd = median(base.add)
    const baseDel = median(base.del)
    const nodeStart = results.get(variants[2]?.label ?? '') ?? { add: [0], del: [0] }
    const nodeMs = median([...nodeStart.add, ...nodeStart.del])
    const addTarget = nodeMs + BENCH.addOverNodeMs
    const delTarget = nodeMs + BENCH.delOverNodeMs
    let met = true
    // which path each row's ADDs took, from the shim's log (a row measures its path only if all took it)
    const paths = new Map<string, Set<string>>()
    // and where inside the shim an ADD's time went: its logged phases (ms since the shim's start)
    const phases = new Map<string, Record<string, number[]>>()
    for (const line of readFileSync(join(dir, 'cni.log'), 'utf8').split('\n')) {
      if (!line.includes('"ADD done"')) continue
      const l = JSON.parse(line) as { containerId?: string, path?: string, ms?: number, phases?: Record<string, number> }
      const key = /^nrbench\d+(\w+)$/.exec(l.containerId ?? '')?.[1] ?? ''
      paths.set(key, (paths.get(key) ?? new Set()).add(l.path ?? '?'))
      const ph = phases.get(key) ?? {}
      for (const [name, ms] of Object.entries({ ...(l.phases ?? {}), done: l.ms ?? NaN })) (ph[name] ??= []).push(ms)
      phases.set(key, ph)
    }
    const phaseText = (key: string): string => Object.entries(phases.get(key) ?? {}).map(([name, ms]) => `${name} ${f(median(ms))}`).join(', ')
    const rows = variants.map((v) => {
      const r = results.get(v.label) ?? { add: [0], del: [0] }
      const add = median(r.add)
      const del = median(r.del)
      if (v.shim === 'direct' || v.shim === 'node') return `| ${v.label} | ${f(add)} | — | — | ${f(del)} | — | — |`
      const addOver = add - baseAdd
      const delOver = del - baseDel
      const took = [...(paths.get(`${v.shim}${v.path}${v.route ?? ''}`) ?? [])]
      if (took.length !== 1 || took[0] !== v.route) throw new Error(`${v.label}: its ADDs took the ${took.join(' and ') || 'no'} path`)
      if (v.route === 'direct') return `| ${v.label} | ${f(add)} | ${f(addOver)} (reported) | ${f(add / baseAdd)}× | ${f(del)} | ${f(delOver)} (reported) | — |`
      const ok = addOver <= addTarget && delOver <= delTarget
      if (!ok) met = false
      return `| ${v.label} | ${f(add)} | ${f(addOver)} (≤ ${f(addTarget)}) | ${f(add / baseAdd)}× | ${f(del)} | ${f(delOver)} (≤ ${f(delTarget)}) | ${ok ? 'met' : 'NOT met'} |`
    })
    const markdown = [
      `Median wall time of ${BENCH.runs} ADD+DEL cycles per row (after ${BENCH.warmup} warm-up cycles), rows interleaved round by round, ` +
        'one bridge + host-local network, the pod read from the Kubernetes API stand-in (HTTPS, token) and annotations patched after ADD, ' +
        'the agent a loopback HTTP server. Agent-path rows: a real agent in the bench process answers /v1/plan on its unix socket from its informer of the stand-in ' +
        '(smart rows: a real audited decision) and patches the status in the background; direct-path rows: agent.socket off. ' +
        `Targets (agent path): ADD overhead ≤ node -e 0 + ${BENCH.addOverNodeMs} ms, DEL overhead ≤ node -e 0 + ${BENCH.delOverNodeMs} ms (node -e 0: ${f(nodeMs)} ms, the median of its rows). ` +
        'NODE_EXTRA_CA_CERTS removed from the environment. Overhead = shim median − direct median ' +
        '(the direct DEL gets the ADD result as prevResult, as a runtime sends it; the row without it is shown for comparison). ' +
        'The `node -e 0` row is the cost of starting Node.js at all (the floor of any shim written for Node). ' +
        'The API client verifies the stand-in\'s certificate with Node\'s own TLS against the kubeconfig CA. ' +
        `Load average (1 min) before / after: ${loadBefore.toFixed(2)} / ${loadavg()[0]?.toFixed(2) ?? '?'} on ${cpus} CPUs.`,
      '',
      '| variant | ADD ms | ADD overhead ms (target) | ADD ratio | DEL ms | DEL overhead ms (target) | targets |',
      '|---|---|---|---|---|---|---|',
      ...rows,
      '',
      'Inside the shim (median ms since its own start, from its ADD log lines; the process start before its first line and its exit after are not in them):',
      '',
      ...variants.filter((v) => v.shim === 'executable').map((v) => `- ${v.label}: ${phaseText(`${v.shim}${v.path}${v.route ?? ''}`)}`),
    ].join('\n')
    return { title, command, markdown, targetsMet: met }
  } finally {
    try { execFileSync('ip', ['netns', 'delete', nsName], { stdio: 'ignore' }) } catch { /* not created */ }
    if (existsSync(`/sys/class/net/${bridge}`)) { try { execFileSync('ip', ['link', 'delete', bridge], { stdio: 'ignore' }) } catch { /* gone */ } }
    await socketApp.close()
    await real.close()
    agent.closeAllConnections()
    await new Promise<void>((r) => agent.close(() => r()))
    await kube.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

// Run on its own: print the section.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const section = await run()
  console.log(`## ${section.title}\n\n${section.markdown}\n`)
  process.exitCode = section.targetsMet ? 0 : 1
}
