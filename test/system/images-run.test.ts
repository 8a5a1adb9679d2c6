// The agent and probe images, built without a Docker engine (scripts/build-images.mjs), run
// in a real container runtime: a containerd of this test's own (lab/lab-containerd.ts, its
// CNI a plain bridge nrbr-img on 10.67.0.0/24) imports the two OCI archives, and the CRI
// runs them as the DaemonSets do — the agent through its entrypoint with a read-only root,
// the probe's iperf3 and sockperf servers as uid 65534 — reached from the host at the pod
// IPs. A second build must give the same digests. Then everything is removed and checked:
// no sandbox netns, no nrbr-img, no mounts under the temp dir, no shim of this containerd.
import t from 'tap'
import type { Test } from 'tap'
import { execFile, execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { gunzipSync } from 'node:zlib'
import { CriClient } from '../../collectors/cri/cri-client.js'
import type { SandboxConfig } from '../../collectors/cri/cri-client.js'
import {
  containerdArgv, containerdPaths, importSandboxImage, mountsUnder, prepareContainerd,
  removeAllSandboxes, removeCgroupTree, shimPidsOf, unmountAll, waitContainerdReady,
} from '../../lab/lab-containerd.js'
import { netnsPathOf } from '../../lab/lab-kubelet.js'
import { isRunning, spawnDetached, stopProcess } from '../../lab/lab-process.js'
import type { LabProcess } from '../../lab/lab-process.js'
import { REPO_ROOT } from '../support/kustomize.js'
import { linkExists, netnsNames } from '../support/lab-cli.js'
import { withLabLock } from '../support/lab-lock.js'
import { cniPluginDir, skip, skipUnlessRoot } from '../support/netns.js'

const BRIDGE = 'nrbr-img'
const SUBNET = '10.67.0.0/24'
const CGROUP_ROOT = '/nr-img' // the pods' cgroup parent (cgroupfs syntax), not the lab's /nr-lab

t.setTimeout(5 * 60_000)

interface Built {
  name: 'agent' | 'probe'
  ref: string
  archive: string
  manifestDigest: string
  configDigest: string
  size: number
  layers: Array<{ digest: string, diffId: string, size: number, what: string }>
}

function has (cmd: string, args = ['--version']): boolean {
  try { execFileSync(cmd, args, { stdio: 'ignore' }); return true } catch { return false }
}

/** scripts/build-images.mjs --out DIR --json, in a child process (the build is not product code). */
async function buildImages (out: string): Promise<Built[]> {
  return await new Promise((resolve, reject) => {
    execFile(process.execPath, [join(REPO_ROOT, 'scripts', 'build-images.mjs'), '--out', out, '--json'], { maxBuffer: 16 << 20, timeout: 180_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`build-images failed: ${stderr}`))
      else resolve(JSON.parse(stdout) as Built[])
    })
  })
}

async function run (cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number, stdout: string, stderr: string }> {
  return await new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr })
    })
  })
}

/** Waits until the container has exited; resolves with its status. */
async function waitExited (cri: CriClient, id: string, ms = 30_000): Promise<Awaited<ReturnType<CriClient['containerStatus']>>> {
  const deadline = Date.now() + ms
  for (;;) {
    const s = await cri.containerStatus(id)
    if (s.state === 'CONTAINER_EXITED' || Date.now() > deadline) return s
    await sleep(100)
  }
}

/** The text of a CRI log file (`<time> <stream> <P|F> <text>` lines). */
function criLog (path: string): string {
  if (!existsSync(path)) return `(no log at ${path})`
  return readFileSync(path, 'utf8').split('\n').map((l) => l.split(' ').slice(3).join(' ')).join('\n')
}

t.test('the agent and probe images run in containerd and are reproducible', async (t: Test) => {
  if (skipUnlessRoot(t)) return
  const pluginDir = cniPluginDir()
  if (pluginDir === undefined) { skip(t, 'needs the CNI plugins (apt-get install containernetworking-plugins)'); return }
  const missingTools = ['containerd', 'runc', 'ctr', 'gcc', 'iperf3', 'sockperf'].filter((c) => !has(c))
  if (missingTools.length > 0) { skip(t, `needs ${missingTools.join(', ')} (apt-get install containerd runc gcc iperf3 sockperf)`); return }
  if (!existsSync(join(REPO_ROOT, 'dist', 'bin', 'netrank.js')) || !existsSync(join(REPO_ROOT, 'dist', 'bin', 'netrank-cni'))) {
    skip(t, 'needs the product build (npm run build:product or npm run build)')
    return
  }
  await withLabLock(t)

  const dir = mkdtempSync(join(tmpdir(), 'nr-img-'))
  const p = containerdPaths(dir, join(dir, 'logs'))
  const netnsBefore = new Set(netnsNames())
  const sandboxNetns: string[] = []
  const handles: { containerd?: LabProcess, cri?: CriClient } = {}

  /** Removes everything this test made; idempotent (the body checks it, the teardown repeats it). */
  const cleanup = async (): Promise<string[]> => {
    const problems: string[] = []
    const { containerd, cri } = handles
    if (containerd !== undefined && isRunning(containerd)) {
      problems.push(...(await removeAllSandboxes(p.socket)).problems)
      await stopProcess(containerd)
    }
    cri?.close()
    for (const pid of shimPidsOf(p.socket)) { try { process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    for (let i = 0; i < 40 && shimPidsOf(p.socket).length > 0; i++) await sleep(50)
    problems.push(...unmountAll(mountsUnder(dir)).problems)
    for (const ns of sandboxNetns) {
      const name = ns.split('/').pop() ?? ''
      if (name !== '' && netnsNames().includes(name)) { try { execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' }) } catch (err) { problems.push(`netns ${name}: ${(err as Error).message}`) } }
    }
    if (linkExists(BRIDGE)) { try { execFileSync('ip', ['link', 'delete', BRIDGE], { stdio: 'ignore' }) } catch (err) { problems.push(`${BRIDGE}: ${(err as Error).message}`) } }
    removeCgroupTree(CGROUP_ROOT)
    return problems
  }
  t.teardown(async () => { await cleanup(); rmSync(dir, { recursive: true, force: true }) })

  // --- the build --------------------------------------------------------------------------
  const started = Date.now()
  const first = await buildImages(join(dir, 'images-1'))
  t.comment(`images built in ${((Date.now() - started) / 1000).toFixed(1)} s: ${first.map((i) => `${i.name} ${(i.size / 1e6).toFixed(1)} MB ${i.manifestDigest}`).join(', ')}`)
  const agent = first.find((i) => i.name === 'agent')
  const probe = first.find((i) => i.name === 'probe')
  if (agent === undefined || probe === undefined) { t.fail(`the build made ${first.map((i) => i.name).join(', ')}`); return }
  t.equal(probe.layers[0]?.digest, agent.layers[0]?.digest, 'the probe image\'s layer is the agent\'s first (a registry stores it once)')
  await t.test('the archives: OCI layouts whose configs match the DaemonSets, layers owned by root with mtime 0', async (t) => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }
    for (const img of first) {
      const layout = join(dir, 'layout', img.name)
      mkdirSync(layout, { recursive: true })
      execFileSync('tar', ['-C', layout, '-xf', img.archive])
      const blob = (d: string): Buffer => readFileSync(join(layout, 'blobs', 'sha256', d.replace(/^sha256:/, '')))
      const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string, annotations: Record<string, string> }> }
      t.equal(index.manifests.length, 1)
      t.equal(index.manifests[0]?.digest, img.manifestDigest, `${img.name}: index.json names the manifest`)
      t.equal(index.manifests[0]?.annotations['io.containerd.image.name'], img.ref)
      const manifest = JSON.parse(blob(img.manifestDigest).toString()) as { config: { digest: string }, layers: Array<{ digest: string, mediaType: string }> }
      t.equal(createHash('sha256').update(blob(img.manifestDigest)).digest('hex'), img.manifestDigest.slice(7), 'the manifest blob is named by its digest')
      const config = JSON.parse(blob(manifest.config.digest).toString()) as { architecture: string, os: string, config: { User: string, Env: string[], Entrypoint: string[], WorkingDir?: string, ExposedPorts: Record<string, unknown>, Labels: Record<string, string> }, rootfs: { diff_ids: string[] } }
      t.equal(config.os, 'linux')
      t.match(config.config.Env.find((e) => e.startsWith('PATH=')), /(^PATH=|:)\/usr\/local\/bin(:|$)/, `${img.name}: /usr/local/bin on PATH`)
      t.match(config.config.Labels, { 'org.opencontainers.image.source': /^https:\/\//, 'org.opencontainers.image.version': pkg.version, 'org.opencontainers.image.revision': /^([0-9a-f]{40}(-dirty)?|unknown)$/ }, `${img.name}: OCI labels`)
      for (const [i, l] of manifest.layers.entries()) {
        const gz = blob(l.digest)
        t.equal(`sha256:${createHash('sha256').update(gunzipSync(gz)).digest('hex')}`, config.rootfs.diff_ids[i], `${img.name} layer ${i}: diff_id = sha256 of the uncompressed tar`)
        const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', join(layout, 'blobs', 'sha256', l.digest.slice(7))], { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n')
        t.same(listing.filter((e) => !/^\S+ 0\/0 +\d+ 1970-01-01 00:00 /.test(e)), [], `${img.name} layer ${i} (${listing.length} entries): owner 0/0, mtime 0`)
        if (img.name === 'agent' && i === manifest.layers.length - 1) {
          t.ok(listing.some((e) => / usr\/local\/bin\/netrank -> \/app\/dist\/bin\/netrank\.js$/.test(e)), 'netrank on PATH: /usr/local/bin/netrank → the CLI')
          t.same(listing.filter((e) => / app\/dist\/(lab|bench|test)\//.test(e)), [], 'the product build only: no lab, bench or test code')
        }
      }
      if (img.name === 'agent') {
        t.match(config.config, { User: '0:0', Entrypoint: ['/usr/local/lib/netrank/agent-entrypoint.sh'], WorkingDir: '/app' }, 'agent: what the DaemonSet and agent-entrypoint.sh expect')
        t.ok('9797/tcp' in config.config.ExposedPorts)
      } else {
        t.match(config.config, { User: '65534:65534', Entrypoint: ['iperf3', '--server', '--port', '5201', '--forceflush'] }, 'probe: as manifests/probe/Dockerfile')
        t.same(Object.keys(config.config.ExposedPorts).sort(), ['11111/tcp', '5201/tcp'])
      }
    }
  })

  // the second build runs while the containers are tested
  const second = buildImages(join(dir, 'images-2'))
  second.catch(() => { /* awaited below */ })

  // --- containerd with a bridge network ---------------------------------------------------
  const confDir = join(dir, 'net.d')
  mkdirSync(confDir, { recursive: true })
  writeFileSync(join(confDir, '10-nr-img.conflist'), JSON.stringify({
    cniVersion: '1.0.0',
    name: 'nr-img',
    plugins: [{ type: 'bridge', bridge: BRIDGE, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: SUBNET }]], dataDir: join(dir, 'ipam') } }],
  }))
  prepareContainerd(p, { confDir, binDir: pluginDir })
  const proc = spawnDetached('containerd', containerdArgv(p), p.log)
  handles.containerd = proc
  const runtime = await waitContainerdReady(p, () => isRunning(proc))
  t.comment(`runtime ${runtime}`)
  importSandboxImage(p)
  for (const img of [agent, probe]) {
    execFileSync('ctr', ['--address', p.socket, '--namespace', 'k8s.io', 'images', 'import', img.archive], { stdio: ['ignore', 'pipe', 'pipe'] })
  }
  const listed = execFileSync('ctr', ['--address', p.socket, '--namespace', 'k8s.io', 'images', 'ls'], { encoding: 'utf8' })
  const c = new CriClient(p.socket, { timeoutMs: 10_000, runTimeoutMs: 60_000 })
  handles.cri = c
  for (const img of [agent, probe]) {
    t.match(listed, new RegExp(`^${img.ref.replace(/[.:]/g, '\\$&')}\\s+\\S+\\s+${img.manifestDigest}`, 'm'), `ctr imported ${img.ref} with manifest ${img.manifestDigest}`)
    const st = await c.imageStatus(img.ref)
    t.equal(st?.id, img.configDigest, `the CRI has ${img.ref}, image id = the config digest`)
  }
  t.equal((await c.imageStatus(probe.ref))?.uid, 65534n, 'the probe image runs as nobody')
  t.equal((await c.imageStatus(agent.ref))?.uid, 0n, 'the agent image runs as root (setns into probe pods)')

  const sandbox = async (name: string): Promise<{ id: string, config: SandboxConfig, ip: string }> => {
    const uid = `nr-img-${name}-${process.pid}`
    const logDirectory = join(dir, 'logs', name)
    mkdirSync(logDirectory, { recursive: true })
    const config: SandboxConfig = { metadata: { name: `nr-img-${name}`, namespace: 'nr-img', uid }, logDirectory, cgroupParent: `${CGROUP_ROOT}/pod${uid}` }
    const id = await c.runPodSandbox(config)
    const st = await c.podSandboxStatus(id, true)
    sandboxNetns.push(netnsPathOf(st))
    return { id, config, ip: st.ip }
  }
  const hostDir = (name: string): string => { const d = join(dir, 'host', name); mkdirSync(d, { recursive: true }); return d }

  await t.test('the agent image: the entrypoint renders the config and the agent answers /healthz at the pod IP', async (t) => {
    const pod = await sandbox('agent')
    t.match(pod.ip, /^10\.67\.0\.\d+$/, `the sandbox is on ${SUBNET}: ${pod.ip}`)
    const config = join(hostDir('etc-netrank'), 'agent.yaml')
    writeFileSync(config, [
      'listen: { host: 0.0.0.0, port: 9797 }',
      'plugins: [{ name: nr-img }]',
      'collectors:',
      '  cadvisor: { enabled: false }',
      '  probes: { enabled: false }',
      '  ipam: { enabled: false }',
      '  static:',
      '    intervalMs: 10000',
      '    kpis: [{ plugin: nr-img, kpi: capacityBps, value: 1.0e9 }]',
      '',
    ].join('\n'))
    // as the DaemonSet: read-only root, the rendered config, the agent's socket and state on volumes
    const id = await c.createContainer(pod.id, pod.config, {
      name: 'agent',
      image: agent.ref,
      args: ['--log-level', 'info'],
      env: { NODE_NAME: 'nr-img-node' },
      mounts: [
        { containerPath: '/etc/netrank', hostPath: join(dir, 'host', 'etc-netrank'), readonly: true },
        { containerPath: '/run/netrank', hostPath: hostDir('run') },
        { containerPath: '/var/lib/netrank', hostPath: hostDir('state') },
        { containerPath: '/tmp', hostPath: hostDir('agent-tmp') },
      ],
      logPath: 'agent.log',
      runAsUser: 0,
      readonlyRootfs: true,
    })
    await c.startContainer(id)
    const url = `http://${pod.ip}:9797/healthz`
    let body: unknown
    const deadline = Date.now() + 30_000
    while (Date.now() < deadline) {
      body = await fetch(url, { signal: AbortSignal.timeout(1_000) }).then(async (r) => (r.ok ? await r.json() : undefined), () => undefined)
      if (body !== undefined) break
      if ((await c.containerStatus(id)).state === 'CONTAINER_EXITED') break
      await sleep(200)
    }
    t.ok(body !== undefined, `GET ${url} answers 200${body !== undefined ? '' : `\n${criLog(join(pod.config.logDirectory ?? '', 'agent.log'))}`}`)
    t.match(readFileSync(join(dir, 'host', 'run', 'agent.yaml'), 'utf8'), /^node: "nr-img-node"\n/, 'agent-entrypoint.sh rendered the config with NODE_NAME')
    t.equal((await c.containerStatus(id)).state, 'CONTAINER_RUNNING')
    await c.stopContainer(id, 10)
    const st = await c.containerStatus(id)
    t.equal(st.state, 'CONTAINER_EXITED')
    t.equal(st.exitCode, 0, 'SIGTERM: the agent exits 0')
    await c.removeContainer(id)

    // the CLI on PATH (/usr/local/bin/netrank → /app/dist/bin/netrank.js), no lab command in the product build
    const help = await c.createContainer(pod.id, pod.config, { name: 'help', image: agent.ref, command: ['netrank'], args: ['--help'], logPath: 'help.log', readonlyRootfs: true })
    await c.startContainer(help)
    const hs = await waitExited(c, help)
    const helpText = criLog(join(pod.config.logDirectory ?? '', 'help.log'))
    t.equal(hs.exitCode, 0, `netrank --help exits 0${hs.exitCode === 0 ? '' : `\n${helpText}`}`)
    t.match(helpText, /\bagent\b/, 'and lists the agent command')
    t.notMatch(helpText, /^\s+lab\b/m, 'the product build has no lab command')
    await c.removeContainer(help)

    // the programs the agent and its scripts run, and the shim executable
    const script = 'set -e; for p in sh node nsenter ip iperf3 ping sockperf grep sed cmp cat mv; do command -v "$p" >/dev/null || { echo "missing $p"; exit 3; }; done; '
      + 'node --version; CNI_COMMAND=VERSION /usr/local/lib/netrank/netrank-cni </dev/null; echo; '
      + 'test "$(readlink -f /app/dist/bin/netrank-cni)" = /usr/local/lib/netrank/netrank-cni; '
      + 'nsenter --version; iperf3 --version | head -1; echo tools-ok'
    const tools = await c.createContainer(pod.id, pod.config, { name: 'tools', image: agent.ref, command: ['/bin/sh', '-c', script], logPath: 'tools.log', readonlyRootfs: true })
    await c.startContainer(tools)
    const ts = await waitExited(c, tools)
    const toolsText = criLog(join(pod.config.logDirectory ?? '', 'tools.log'))
    t.equal(ts.exitCode, 0, `the agent image's tools run${ts.exitCode === 0 ? '' : `\n${toolsText}`}`)
    t.match(toolsText, /v20\.\d+\.\d+/, 'node 20')
    t.match(toolsText, /"supportedVersions"/, 'the shim answers CNI VERSION')
    t.match(toolsText, /tools-ok/)
    await c.removeContainer(tools)
    await c.stopPodSandbox(pod.id)
    await c.removePodSandbox(pod.id)
  })

  await t.test('the probe image: iperf3 -s (its entrypoint, uid 65534, read-only root) and sockperf serve the host', async (t) => {
    const pod = await sandbox('probe')
    const tmpVol = hostDir('probe-tmp')
    execFileSync('chmod', ['1777', tmpVol])
    const iperf = await c.createContainer(pod.id, pod.config, { name: 'iperf3', image: probe.ref, logPath: 'iperf3.log', readonlyRootfs: true, mounts: [{ containerPath: '/tmp', hostPath: tmpVol }] })
    const sockperf = await c.createContainer(pod.id, pod.config, { name: 'sockperf', image: probe.ref, command: ['sockperf', 'server', '--tcp', '-p', '11111'], logPath: 'sockperf.log', readonlyRootfs: true })
    await c.startContainer(iperf)
    await c.startContainer(sockperf)
    // the server is up once it listens (iperf3 prints "Server listening on 5201")
    const log = join(pod.config.logDirectory ?? '', 'iperf3.log')
    for (let i = 0; i < 100 && !criLog(log).includes('Server listening'); i++) await sleep(100)
    const r = await run('iperf3', ['-c', pod.ip, '-p', '5201', '-t', '1', '-J'], 30_000)
    const bps = r.code === 0 ? (JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second?: number } } }).end?.sum_received?.bits_per_second ?? 0 : 0
    t.equal(r.code, 0, `iperf3 -c ${pod.ip} -t 1 succeeds${r.code === 0 ? '' : ` ${r.stderr}${r.stdout}\n${criLog(log)}`}`)
    t.ok(bps > 0, `it measured ${(bps / 1e9).toFixed(2)} Gbit/s`)
    const rr = await run('sockperf', ['ping-pong', '--tcp', '-i', pod.ip, '-p', '11111', '-t', '1'], 30_000)
    t.equal(rr.code, 0, `sockperf ping-pong to the probe's sockperf server succeeds${rr.code === 0 ? '' : `\n${rr.stderr}\n${criLog(join(pod.config.logDirectory ?? '', 'sockperf.log'))}`}`)
    t.match(rr.stdout, /avg-(rtt|lat)/, 'and reports latencies')
    const st = await c.containerStatus(iperf)
    t.equal(st.state, 'CONTAINER_RUNNING', 'iperf3 -s keeps serving after a test')
    for (const id of [iperf, sockperf]) { await c.stopContainer(id, 2); await c.removeContainer(id) }
    await c.stopPodSandbox(pod.id)
    await c.removePodSandbox(pod.id)
  })

  await t.test('a second build gives the same digests', async (t) => {
    const again = await second
    for (const img of first) {
      const b = again.find((i) => i.name === img.name)
      t.equal(b?.manifestDigest, img.manifestDigest, `${img.name}: manifest ${img.manifestDigest}`)
      t.same(b?.layers.map((l) => l.digest), img.layers.map((l) => l.digest), `${img.name}: every layer`)
    }
  })

  await t.test('nothing is left: no sandbox netns, no bridge, no mounts, no shims', async (t) => {
    const problems = await cleanup()
    t.same(problems, [], 'the cleanup reported no problem')
    t.same(netnsNames().filter((n) => !netnsBefore.has(n) && sandboxNetns.some((s) => s.endsWith(`/${n}`))), [], 'the sandboxes\' netns are gone')
    t.notOk(linkExists(BRIDGE), `${BRIDGE} is gone`)
    t.same(mountsUnder(dir), [], `no mounts under ${dir}`)
    t.same(shimPidsOf(p.socket), [], 'no containerd-shim of this containerd')
    t.notOk(isRunning(proc), 'containerd stopped')
    t.notOk(existsSync(`/sys/fs/cgroup/${existsSync('/sys/fs/cgroup/cgroup.controllers') ? '' : 'memory/'}${CGROUP_ROOT}`), `no cgroup ${CGROUP_ROOT} is left`)
  })
})
