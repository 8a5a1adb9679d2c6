// Conformance through libcni, the library container runtimes use: for every cniVersion both
// Debian's libcni 1.1.2 and the shim speak (0.3.0, 0.3.1, 0.4.0, 1.0.0) and for both shim
// builds (the esbuild bundle through a #!/bin/sh wrapper, and the self-contained
// executable), libcni runs VALIDATE, ADD, CHECK (≥ 0.4.0) and DEL of a conflist whose first
// plugin is netrank-cni with `tuning` chained after it, over the real bridge + host-local
// plugins in a network namespace this test creates, with the pod in the Kubernetes API
// stand-in. cniVersion 1.1.0, STATUS and GC are exercised by the shim's own tests: this
// libcni predates them.
// Needs root, the CNI plugins, `npm run build` (dist/test/libcni-client, dist/cni/…,
// dist/bin/netrank-cni); skips with the reason otherwise. NETRANK_SHIM_DIST=DIR points at
// another build-shim output dir (scripts/build-shim.mjs --out DIR).
import t from 'tap'
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startKubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import {
  bridgePorts, createNetns, hostLocalAllocations, hostLocalReservations, makeCniPath, skip,
  skipUnlessPlugins, skipUnlessRoot, tempDir, uniqueName,
} from '../support/netns.js'

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..')
const SHIM_DIST = resolve(process.env.NETRANK_SHIM_DIST ?? join(ROOT, 'dist'))
const CLIENT = join(ROOT, 'dist', 'test', 'libcni-client')
const VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const
const BUILDS = [
  { name: 'bundle', path: join(SHIM_DIST, 'cni', 'netrank-cni.cjs') },
  { name: 'sea', path: join(SHIM_DIST, 'bin', 'netrank-cni') },
] as const
const SOMAXCONN = '509' // the tuning sysctl: per-netns, default 4096, so a changed value proves tuning ran inside
const atLeast040 = (v: string): boolean => v === '0.4.0' || v === '1.0.0'
// In CI (as root, after `npm run build`) everything must be there: a missing part fails
// instead of skipping, so the conformance run can never silently not happen.
const IN_CI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'

function missing (t: Parameters<typeof skip>[0] & { fail: (msg: string) => void }, reason: string): void {
  if (IN_CI) t.fail(`${reason} (CI is set, so this is a failure, not a skip)`)
  else skip(t, reason)
}

interface Run { code: number, stdout: string, stderr: string }

async function libcni (args: string[]): Promise<Run> {
  return await new Promise((resolveRun) => {
    execFile(CLIENT, args, { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1
      resolveRun({ code, stdout, stderr: code === -1 ? `${stderr}${err?.message ?? ''}` : stderr })
    })
  })
}

function inSubnet (address: string, subnetPrefix: string): boolean {
  return address.startsWith(subnetPrefix) && address.endsWith('/24')
}

t.test('libcni drives netrank-cni + tuning over real bridge/host-local for every shared cniVersion', async (t) => {
  if (skipUnlessRoot(t) || skipUnlessPlugins(t)) return
  if (!existsSync(CLIENT)) { missing(t, `the libcni client is not built (${CLIENT}): run \`npm run build\` with golang-go and golang-github-appc-cni-dev installed`); return }
  const builds = BUILDS.filter((b) => existsSync(b.path))
  if (builds.length === 0) { missing(t, `no shim build in ${SHIM_DIST} (cni/netrank-cni.cjs, bin/netrank-cni): run \`npm run build\``); return }
  for (const b of BUILDS) {
    if (builds.includes(b)) continue
    const why = `shim build ${b.name} missing at ${b.path}; only ${builds.map((x) => x.name).join(', ')} tested`
    if (IN_CI) t.fail(why)
    else t.comment(why)
  }

  const kube = await startKubeApiStandIn({ dir: tempDir(t, 'nr-conf-kube') })
  t.teardown(() => kube.close())
  // A stand-in agent that counts calls: explicit annotations must never reach it.
  let agentCalls = 0
  const agent = createServer((_req, res) => { agentCalls++; res.writeHead(500).end('{}') })
  await new Promise<void>((r) => agent.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>((r) => agent.close(() => r())))
  const agentUrl = `http://127.0.0.1:${String((agent.address() as AddressInfo).port)}`

  let caseNo = 0
  for (const build of builds) {
    for (const version of VERSIONS) {
      caseNo++
      await t.test(`${build.name} build, cniVersion ${version}`, async (t) => {
        const n = caseNo
        const subnet = `10.231.${String(n)}.`
        const dir = tempDir(t, 'nr-conf')
        const confDir = join(dir, 'net.d')
        const stateDir = join(dir, 'state')
        const dataDir = join(dir, 'host-local')
        const cacheDir = join(dir, 'libcni-cache')
        const logFile = join(dir, 'cni.log')
        const bridge = uniqueName('nrcfb')
        t.teardown(() => execFileQuiet('ip', ['link', 'delete', bridge]))
        const ns = createNetns('nrcf')
        t.teardown(() => ns.remove())
        const cniPath = makeCniPath(t, { shim: build.path })

        mkdirSync(confDir)
        writeFileSync(join(confDir, '10-nrconf-br.conf'), JSON.stringify({
          cniVersion: version, name: 'nrconf-br', type: 'bridge', bridge, isGateway: true, ipMasq: false,
          ipam: { type: 'host-local', subnet: `${subnet}0/24`, dataDir },
        }))
        const kubeconfig = n % 2 === 0 ? kube.certKubeconfigPath : kube.kubeconfigPath
        const conflistPath = join(confDir, '00-netrank.conflist')
        writeFileSync(conflistPath, JSON.stringify({
          cniVersion: version,
          name: 'netrank',
          plugins: [
            { type: 'netrank-cni', kubeconfig, confDir, defaultPlugins: ['nrconf-br'], selector: { url: agentUrl, timeoutMs: 300 }, stateDir, logFile, logLevel: 'debug' },
            { type: 'tuning', sysctl: { 'net.core.somaxconn': SOMAXCONN } },
          ],
        }))
        // Shown with a failed verb: what libcni said and what the shim logged.
        const diag = (r: Run): { stderr: string, shimLog: string } => {
          let shimLog = ''
          try { shimLog = readFileSync(logFile, 'utf8').split('\n').slice(-40).join('\n') } catch { /* nothing logged yet */ }
          return { stderr: r.stderr, shimLog }
        }

        const podName = `conf-${build.name}-${version.replace(/\./g, '-')}`
        const pod = kube.putPod({ metadata: { name: podName, namespace: 'conformance', annotations: { cni: 'nrconf-br' } }, spec: { nodeName: 'node-conf' } })
        const containerId = `c0nf${String(n)}${'a'.repeat(12)}`
        const common = ['-conflist', conflistPath, '-netns', ns.path, '-containerid', containerId, '-ifname', 'eth0',
          '-cni-path', cniPath, '-cache-dir', cacheDir,
          '-args', `IgnoreUnknown=1;K8S_POD_NAMESPACE=conformance;K8S_POD_NAME=${podName};K8S_POD_INFRA_CONTAINER_ID=${containerId};K8S_POD_UID=${String(pod.metadata.uid)}`]
        const callsBefore = agentCalls
        kube.requests.length = 0

        // VERSION, through libcni's validation of the whole list.
        const validate = await libcni([...common, 'validate'])
        t.equal(validate.code, 0, 'libcni validates the conflist (VERSION of each plugin)', diag(validate))
        const versions = await libcni(['-cni-path', cniPath, '-plugin', 'netrank-cni', 'version'])
        t.equal(versions.code, 0, versions.stderr)
        const supported = (JSON.parse(versions.stdout || '{}') as { supportedVersions?: string[] }).supportedVersions ?? []
        for (const v of [...VERSIONS, '1.1.0']) t.ok(supported.includes(v), `VERSION lists ${v}`)

        // ADD
        const add = await libcni([...common, 'add'])
        t.equal(add.code, 0, 'ADD succeeds', diag(add))
        if (add.code !== 0) return
        const result = JSON.parse(add.stdout) as { cniVersion: string, interfaces?: Array<{ name: string, sandbox?: string }>, ips?: Array<{ address: string, version?: string, interface?: number }> }
        t.equal(result.cniVersion, version, 'the result is in the conf\'s cniVersion')
        const ip = result.ips?.[0]
        t.ok(ip !== undefined && inSubnet(ip.address, subnet), `the IP ${String(ip?.address)} is from ${subnet}0/24`)
        if (version === '1.0.0') t.equal(ip?.version, undefined, '1.0.0 results carry no ips[].version')
        else t.equal(ip?.version, '4', 'pre-1.0.0 results carry ips[].version')
        const sandboxIf = result.interfaces?.find((i) => i.name === 'eth0' && i.sandbox !== undefined)
        t.equal(sandboxIf?.sandbox, ns.path, 'the result names eth0 in the pod netns')

        const eth0 = ns.addresses().find((a) => a.ifname === 'eth0')
        t.ok(eth0, 'eth0 exists inside the netns')
        t.same(eth0?.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${String(a.prefixlen)}`), [ip?.address], 'eth0 carries the result IP')
        const sysctl = await ns.exec('cat', ['/proc/sys/net/core/somaxconn'])
        t.equal(sysctl.stdout.trim(), SOMAXCONN, 'tuning (chained after the shim) applied its sysctl inside the netns')
        t.equal(bridgePorts(bridge).length, 1, 'one veth on the bridge')
        t.same(hostLocalAllocations(dataDir).map((a) => [a.ip, a.containerId]), [[ip?.address.split('/')[0], containerId]], 'host-local reserved the IP for this container')
        t.equal(readdirSync(join(stateDir, 'attachments')).filter((f) => f.endsWith('.json')).length, 1, 'the shim kept an attachment record')

        const annotations = kube.getPod('conformance', podName)?.metadata.annotations ?? {}
        const status = JSON.parse(annotations['k8s.v1.cni.cncf.io/network-status'] ?? '[]') as Array<{ interface?: string, ips?: string[] }>
        t.match(status, [{ interface: 'eth0', ips: [ip?.address.split('/')[0]] }], 'network-status was patched on the pod')
        t.match(JSON.parse(annotations['netrank.io/selection'] ?? '{}'), { plugins: ['nrconf-br'], reason: 'explicit' })
        t.ok(kube.requests.length > 0 && kube.requests.every((r) => r.auth === (kubeconfig === kube.certKubeconfigPath ? 'cert' : 'token')),
          `the shim authenticated to the API with the ${kubeconfig === kube.certKubeconfigPath ? 'client certificate' : 'token'}`)

        // CHECK (libcni refuses it below 0.4.0 without calling plugins)
        const check = await libcni([...common, 'check'])
        if (atLeast040(version)) t.equal(check.code, 0, 'CHECK succeeds', diag(check))
        else t.match(check, { code: 2, stderr: /does not support the CHECK command/ }, 'libcni refuses CHECK below 0.4.0')

        // DEL, and DEL again (a runtime retries; the second must succeed with nothing left)
        const del = await libcni([...common, 'del'])
        t.equal(del.code, 0, 'DEL succeeds', diag(del))
        t.same(hostLocalReservations(dataDir), [], 'no IP reservation left in host-local\'s dataDir')
        t.same(ns.addresses().map((a) => a.ifname), ['lo'], 'no interface left in the netns')
        t.same(bridgePorts(bridge), [], 'no veth left on the bridge')
        t.same(readdirSync(join(stateDir, 'attachments')).filter((f) => f.endsWith('.json')), [], 'no attachment record left')
        const again = await libcni([...common, 'del'])
        t.equal(again.code, 0, 'a second DEL succeeds', diag(again))
        t.equal(agentCalls, callsBefore, 'an explicit cni annotation never calls the agent')
      })
    }
  }

  await t.test('a conflist with a cniVersion libcni and the shim disagree on is refused before any change', async (t) => {
    const build = builds[0]
    if (build === undefined) return
    const dir = tempDir(t, 'nr-conf-bad')
    const conflist = join(dir, 'bad.conflist')
    writeFileSync(conflist, JSON.stringify({ cniVersion: '0.2.0', name: 'netrank', plugins: [{ type: 'netrank-cni', stateDir: join(dir, 'state'), logFile: join(dir, 'log') }] }))
    const v = await libcni(['-conflist', conflist, '-cni-path', makeCniPath(t, { shim: build.path }), 'validate'])
    t.equal(v.code, 2)
    t.match(v.stderr, /0\.2\.0/, 'the error names the version')
  })
})

function execFileQuiet (cmd: string, args: string[]): Promise<void> {
  return new Promise((r) => { execFile(cmd, args, () => r()) })
}

t.test('the libcni client reports a plugin\'s CNI error code and exits 2; bad usage exits 64', async (t) => {
  if (!existsSync(CLIENT)) { missing(t, `the libcni client is not built (${CLIENT}): run \`npm run build\``); return }
  const dir = tempDir(t, 'nr-conf-client')
  writeFileSync(join(dir, 'nr-fail'), '#!/bin/sh\necho \'{"cniVersion":"1.0.0","code":11,"msg":"try again later","details":"stand-in"}\'\nexit 1\n', { mode: 0o755 })
  const conflist = join(dir, 'x.conflist')
  writeFileSync(conflist, JSON.stringify({ cniVersion: '1.0.0', name: 'nrx', plugins: [{ type: 'nr-fail' }] }))
  const base = ['-conflist', conflist, '-netns', '/var/run/netns/nr-none', '-containerid', 'c1', '-cni-path', dir, '-cache-dir', join(dir, 'cache')]
  const add = await libcni([...base, 'add'])
  t.equal(add.code, 2)
  t.match(add.stderr, /plugin type="nr-fail" failed \(add\)/)
  const line = add.stderr.split('\n').find((l) => l.startsWith('cni-error: '))
  t.same(JSON.parse(line?.slice('cni-error: '.length) ?? '{}'), { code: 11, msg: 'try again later', details: 'stand-in' })

  const usage: Array<[string[], RegExp]> = [
    [[], /exactly one command/],
    [['-cni-path', dir, 'add'], /-conflist is required/],
    [['-conflist', conflist, '-cni-path', dir, 'add'], /needs -netns and -containerid/],
    [[...base, '-args', 'novalue', 'add'], /"novalue" is not K=V/],
    [[...base, '-capability-args', '[1]', 'add'], /not a JSON object/],
    [[...base, 'explode'], /unknown command "explode"/],
    [['-cni-path', dir, 'version'], /needs -plugin/],
  ]
  for (const [args, re] of usage) t.match(await libcni(args), { code: 64, stderr: re }, `usage error: ${re.source}`)
  const notJson = join(dir, 'bad.conflist')
  writeFileSync(notJson, '{nope')
  t.match(await libcni(['-conflist', notJson, '-cni-path', dir, 'validate']), { code: 2, stderr: /invalid JSON/ })
})
