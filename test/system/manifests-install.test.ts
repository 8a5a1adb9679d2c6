// install-cni.sh (the init container and the token-sync sidecar) and agent-entrypoint.sh,
// run for real with sh against temporary host directories: what they write is read back
// with the shim's own kubeconfig loader and the agent's own config loader.
import { spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { loadKubeconfig } from '../../cni/kube-client.js'
import { loadConfig } from '../../agent/config/load-config.js'
import { MANIFESTS, REPO_ROOT } from '../support/kustomize.js'
import { setTimeout as sleep } from 'node:timers/promises'

const INSTALL = join(MANIFESTS, 'install', 'install-cni.sh')
const ENTRYPOINT = join(MANIFESTS, 'install', 'agent-entrypoint.sh')
const CONFLIST = readFileSync(join(MANIFESTS, 'base', '00-netrank.conflist'), 'utf8')
const REAL_SHIM = join(REPO_ROOT, 'dist', 'bin', 'netrank-cni')

interface Node { root: string, bin: string, conf: string, sa: string, shim: string, cfg: string, nets: string, env: NodeJS.ProcessEnv }

// A fake node: host dirs, a service-account dir, the image's shim and ConfigMap mounts.
function fakeNode (t: Test): Node {
  const root = mkdtempSync(join(tmpdir(), 'nr-install-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const n = { root, bin: join(root, 'host/opt/cni/bin'), conf: join(root, 'host/etc/cni/net.d'), sa: join(root, 'sa'), shim: join(root, 'image/netrank-cni'), cfg: join(root, 'cm'), nets: join(root, 'networks') }
  for (const d of [n.sa, join(root, 'image'), n.cfg, n.conf]) mkdirSync(d, { recursive: true })
  writeFileSync(join(n.sa, 'token'), 'token-1\n')
  writeFileSync(join(n.sa, 'ca.crt'), '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n')
  writeFileSync(n.shim, '#!/bin/sh\necho shim\n')
  chmodSync(n.shim, 0o755)
  writeFileSync(join(n.cfg, '00-netrank.conflist'), CONFLIST)
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    CNI_BIN_DIR: n.bin,
    CNI_CONF_DIR: n.conf,
    NETRANK_SHIM: n.shim,
    NETRANK_CONFLIST: join(n.cfg, '00-netrank.conflist'),
    NETRANK_NETWORKS_DIR: n.nets,
    SA_DIR: n.sa,
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    KUBERNETES_SERVICE_PORT: '443',
    NODE_NAME: 'worker-1',
  }
  return { ...n, env }
}

const run = (node: Node, args: string[] = [], env: NodeJS.ProcessEnv = {}): { status: number | null, stderr: string } => {
  const r = spawnSync('sh', [INSTALL, ...args], { env: { ...node.env, ...env }, encoding: 'utf8' })
  return { status: r.status, stderr: r.stderr }
}

t.test('install-cni.sh installs the shim, its conf and a kubeconfig the shim can load', async (t) => {
  const n = fakeNode(t)
  const r = run(n)
  t.equal(r.status, 0, r.stderr)
  t.equal(readFileSync(join(n.bin, 'netrank-cni'), 'utf8'), readFileSync(n.shim, 'utf8'), 'the shim is copied')
  t.equal(statSync(join(n.bin, 'netrank-cni')).mode & 0o777, 0o755, 'and executable')
  t.equal(readFileSync(join(n.conf, '00-netrank.conflist'), 'utf8'), CONFLIST, 'the conf is the ConfigMap\'s, unchanged')
  const kc = join(n.conf, 'netrank.d', 'netrank.kubeconfig')
  t.equal(statSync(join(n.conf, 'netrank.d')).mode & 0o777, 0o700, 'the token dir is private')
  t.equal(statSync(join(n.conf, 'netrank.d', 'token')).mode & 0o777, 0o600, 'the token is private')
  const access = await loadKubeconfig(kc)
  t.equal(access.server.href, 'https://10.96.0.1/', 'the in-cluster API address (443 is https\'s default)')
  t.equal(access.token, 'token-1', 'the service account token, through tokenFile')
  t.equal(access.ca?.toString(), readFileSync(join(n.sa, 'ca.crt'), 'utf8'), 'the service account CA')
  t.equal(access.insecureSkipTlsVerify, false)
  t.same(readFileSync(join(n.conf, 'netrank.d', 'installed-networks'), 'utf8'), '', 'no extra networks')
  t.same(readdirSync(join(n.conf, 'netrank.d')).sort(), ['ca.crt', 'installed-networks', 'netrank.kubeconfig', 'token'], 'no temp files left')
  t.same(readdirSync(n.conf).sort(), ['00-netrank.conflist', 'netrank.d'])
})

t.test('a second run with nothing changed rewrites nothing (runtimes reload on every change)', async (t) => {
  const n = fakeNode(t)
  t.equal(run(n).status, 0)
  const before = statSync(join(n.conf, '00-netrank.conflist')).mtimeMs
  const r = run(n)
  t.equal(r.status, 0)
  t.notMatch(r.stderr, /wrote/, r.stderr)
  t.equal(statSync(join(n.conf, '00-netrank.conflist')).mtimeMs, before)
})

t.test('a rotated token is copied on the next run and the kubeconfig still loads', async (t) => {
  const n = fakeNode(t)
  t.equal(run(n).status, 0)
  writeFileSync(join(n.sa, 'token'), 'token-2\n')
  const r = run(n)
  t.equal(r.status, 0)
  t.match(r.stderr, /wrote .*netrank\.d\/token/)
  t.notMatch(r.stderr, /wrote .*00-netrank\.conflist/, 'the conf is untouched')
  t.equal((await loadKubeconfig(join(n.conf, 'netrank.d', 'netrank.kubeconfig'))).token, 'token-2')
})

t.test('NETRANK_SHIM_TOKEN_FILE: the kubeconfig names the agent-minted token file; the agent\'s own token is not copied (and one copied before is removed)', async (t) => {
  const n = fakeNode(t)
  t.equal(run(n).status, 0, 'first the old way: the service-account token copied')
  const shimToken = join(n.root, 'host/var/lib/netrank/cni-token')
  mkdirSync(join(n.root, 'host/var/lib/netrank'), { recursive: true })
  writeFileSync(shimToken, 'minted-by-the-agent')
  const r = run(n, [], { NETRANK_SHIM_TOKEN_FILE: shimToken })
  t.equal(r.status, 0, r.stderr)
  t.same(readdirSync(join(n.conf, 'netrank.d')).sort(), ['ca.crt', 'installed-networks', 'netrank.kubeconfig'], 'no copy of the agent\'s token left in the conf dir')
  const access = await loadKubeconfig(join(n.conf, 'netrank.d', 'netrank.kubeconfig'))
  t.equal(access.tokenFile, shimToken, 'the kubeconfig names the minted token\'s file')
  t.equal(access.token, 'minted-by-the-agent')
  const bad = run(n, [], { NETRANK_SHIM_TOKEN_FILE: 'relative/token' })
  t.equal(bad.status, 1)
  t.match(bad.stderr, /NETRANK_SHIM_TOKEN_FILE must be an absolute host path/)
})

t.test('a conf that sorts before netrank\'s (CNI-Genie\'s 00-genie.conf) is warned about', async (t) => {
  const n = fakeNode(t)
  writeFileSync(join(n.conf, '00-genie.conf'), '{"name":"genie","type":"genie"}')
  const r = run(n)
  t.equal(r.status, 0)
  t.match(r.stderr, /warning: .*00-genie\.conf sorts before 00-netrank\.conflist, so the container runtime uses it and never calls netrank/)
  rmSync(join(n.conf, '00-genie.conf'))
  writeFileSync(join(n.conf, '10-flannel.conflist'), '{"name":"cbr0"}')
  t.notMatch(run(n).stderr, /warning/, 'no warning once netrank\'s conf is first')
})

t.test('the API server address: IPv6 service host in brackets, NETRANK_KUBE_SERVER wins', async (t) => {
  const table: Array<[NodeJS.ProcessEnv, string]> = [
    [{ KUBERNETES_SERVICE_HOST: 'fd00:10:96::1', KUBERNETES_SERVICE_PORT: '6443' }, 'https://[fd00:10:96::1]:6443/'],
    [{ NETRANK_KUBE_SERVER: 'https://api.example.internal:6443' }, 'https://api.example.internal:6443/'],
  ]
  for (const [env, want] of table) {
    const n = fakeNode(t)
    t.equal(run(n, [], env).status, 0)
    t.equal((await loadKubeconfig(join(n.conf, 'netrank.d', 'netrank.kubeconfig'))).server.href, want)
  }
})

t.test('extra network confs are installed, and removed again by --uninstall with everything else', async (t) => {
  const n = fakeNode(t)
  mkdirSync(n.nets)
  const net = { cniVersion: '0.3.1', name: 'macvlan-wb', plugins: [{ type: 'macvlan', master: 'eth1' }] }
  writeFileSync(join(n.nets, '50-macvlan-wb.conflist'), JSON.stringify(net))
  writeFileSync(join(n.conf, '10-flannel.conflist'), '{"name":"cbr0"}') // someone else's
  t.equal(run(n).status, 0)
  t.same(JSON.parse(readFileSync(join(n.conf, '50-macvlan-wb.conflist'), 'utf8')), net)
  t.equal(readFileSync(join(n.conf, 'netrank.d', 'installed-networks'), 'utf8'), '50-macvlan-wb.conflist\n')

  // a network dropped from the ConfigMap is removed from the node on the next run
  writeFileSync(join(n.nets, '50-second.conf'), JSON.stringify({ cniVersion: '0.3.1', name: 'second', type: 'bridge' }))
  t.equal(run(n).status, 0)
  t.ok(existsSync(join(n.conf, '50-second.conf')))
  rmSync(join(n.nets, '50-second.conf'))
  const again = run(n)
  t.match(again.stderr, /removed .*50-second\.conf \(no longer in/)
  t.notOk(existsSync(join(n.conf, '50-second.conf')))
  t.ok(existsSync(join(n.conf, '50-macvlan-wb.conflist')), 'the one still listed stays')

  const r = run(n, ['--uninstall'])
  t.equal(r.status, 0, r.stderr)
  for (const gone of [join(n.conf, '00-netrank.conflist'), join(n.conf, '50-macvlan-wb.conflist'), join(n.conf, 'netrank.d'), join(n.bin, 'netrank-cni')]) {
    t.notOk(existsSync(gone), `removed ${gone.slice(n.root.length)}`)
  }
  t.ok(existsSync(join(n.conf, '10-flannel.conflist')), 'other networks\' confs stay')
  t.equal(run(n, ['--uninstall']).status, 0, 'uninstalling twice is fine')
})

t.test('bad input fails with a message that says what to fix, before the conf is installed', async (t) => {
  const table: Array<[string, (n: Node) => NodeJS.ProcessEnv | undefined, RegExp]> = [
    ['no token', (n) => { rmSync(join(n.sa, 'token')); return undefined }, /no service-account token at .*\/sa\/token/],
    ['no CA', (n) => { rmSync(join(n.sa, 'ca.crt')); return undefined }, /no service-account CA/],
    ['no shim in the image', (n) => { rmSync(n.shim); return undefined }, /shim executable .* is missing/],
    ['no conf in the ConfigMap', (n) => { rmSync(join(n.cfg, '00-netrank.conflist')); return undefined }, /shim conf .* is missing \(ConfigMap netrank-config/],
    ['a conf that is not JSON', (n) => { writeFileSync(join(n.cfg, '00-netrank.conflist'), '{"cniVersion": '); return undefined }, /00-netrank\.conflist is not valid JSON/],
    ['not in a pod', () => ({ KUBERNETES_SERVICE_HOST: '' }), /KUBERNETES_SERVICE_HOST is not set .*NETRANK_KUBE_SERVER/],
    ['a broken extra network', (n) => { mkdirSync(n.nets); writeFileSync(join(n.nets, '50-x.conf'), 'nope'); return undefined }, /50-x\.conf is not valid JSON/],
    ['an extra network named like netrank\'s own', (n) => { mkdirSync(n.nets); writeFileSync(join(n.nets, '00-netrank.conf'), '{}'); return undefined }, /the name 00-netrank\.conf is netrank's own/],
  ]
  for (const [name, breakIt, message] of table) {
    const n = fakeNode(t)
    const env = breakIt(n) ?? {}
    const r = run(n, [], env)
    t.equal(r.status, 1, `${name}: exit 1`)
    t.match(r.stderr, message, `${name}: ${r.stderr.trim()}`)
    t.notOk(existsSync(join(n.conf, '00-netrank.conflist')), `${name}: pods are not sent to a half-installed netrank`)
    const leftovers = existsSync(join(n.conf, 'netrank.d')) ? readdirSync(join(n.conf, 'netrank.d')).filter((f) => f.startsWith('.')) : []
    t.same(leftovers, [], `${name}: no temp files left`)
  }
  const n = fakeNode(t)
  const r = run(n, ['--bogus'])
  t.equal(r.status, 1)
  t.match(r.stderr, /unknown argument --bogus/)
})

t.test('--watch copies a rotated token, repairs a removed conf, and stops on SIGTERM', async (t) => {
  const n = fakeNode(t)
  const child = spawn('sh', [INSTALL, '--watch'], { env: { ...n.env, NETRANK_WATCH_INTERVAL_S: '0.2' }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  // waits for a condition (generous deadline; not a timing assertion)
  const until = async (what: string, ok: () => boolean): Promise<void> => {
    for (let i = 0; i < 300 && !ok(); i++) await sleep(50)
    t.ok(ok(), what)
  }
  await until('first install', () => existsSync(join(n.conf, '00-netrank.conflist')) && stderr.includes('watching'))
  writeFileSync(join(n.sa, 'token'), 'token-rotated\n')
  rmSync(join(n.conf, '00-netrank.conflist'))
  await until('token copied', () => readFileSync(join(n.conf, 'netrank.d', 'token'), 'utf8') === 'token-rotated\n')
  await until('conf reinstalled', () => existsSync(join(n.conf, '00-netrank.conflist')))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'exits 0 on SIGTERM')
})

t.test('the installed real shim runs (CNI VERSION)', { skip: existsSync(REAL_SHIM) ? false : 'dist/bin/netrank-cni is not built (npm run build)' }, async (t) => {
  const n = fakeNode(t)
  const r = run(n, [], { NETRANK_SHIM: REAL_SHIM })
  t.equal(r.status, 0, r.stderr)
  const v = spawnSync(join(n.bin, 'netrank-cni'), [], { input: '{"cniVersion":"1.0.0"}', env: { CNI_COMMAND: 'VERSION' }, encoding: 'utf8' })
  t.equal(v.status, 0, v.stderr)
  t.ok((JSON.parse(v.stdout) as { supportedVersions: string[] }).supportedVersions.includes('1.0.0'))
})

t.test('agent-entrypoint.sh', async (t) => {
  const setup = (t: Test, config: string): { dir: string, env: NodeJS.ProcessEnv } => {
    const dir = mkdtempSync(join(tmpdir(), 'nr-entry-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'agent.yaml'), config)
    // a stand-in for dist/bin/netrank.js that prints its arguments
    mkdirSync(join(dir, 'app', 'dist', 'bin'), { recursive: true })
    writeFileSync(join(dir, 'app', 'dist', 'bin', 'netrank.js'), 'console.log(JSON.stringify(process.argv.slice(2)))\n')
    return { dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_NAME: 'worker-1', NETRANK_CONFIG: join(dir, 'agent.yaml'), NETRANK_RUN_DIR: join(dir, 'run'), NETRANK_APP_DIR: join(dir, 'app') } }
  }
  const CONFIG = 'plugins:\n  - name: cbr0\nkubernetes:\n  inCluster: true\n'

  t.test('renders the config with the node name and execs the agent on it', async (t) => {
    const { dir, env } = setup(t, CONFIG)
    const r = spawnSync('sh', [ENTRYPOINT, '--log-level', 'debug'], { env, encoding: 'utf8' })
    t.equal(r.status, 0, r.stderr)
    const rendered = join(dir, 'run', 'agent.yaml')
    t.same(JSON.parse(r.stdout), ['agent', '--config', rendered, '--log-level', 'debug'])
    const config = await loadConfig(rendered, {})
    t.equal(config.node, 'worker-1')
    t.same(config.plugins, [{ name: 'cbr0' }])
  })

  t.test('a numeric node name stays a string', async (t) => {
    const { env } = setup(t, CONFIG)
    const r = spawnSync('sh', [ENTRYPOINT, '--render-only'], { env: { ...env, NODE_NAME: '1234' }, encoding: 'utf8' })
    t.equal(r.status, 0, r.stderr)
    t.equal((await loadConfig(r.stdout.trim(), {})).node, '1234')
  })

  t.test('refuses what would make a wrong or broken config', async (t) => {
    const table: Array<[string, string, NodeJS.ProcessEnv, RegExp]> = [
      ['node: in the ConfigMap', `node: other\n${CONFIG}`, {}, /sets node:, which is filled in per node from NODE_NAME; remove it/],
      ['two YAML documents', `${CONFIG}---\nplugins: []\n`, {}, /one YAML document/],
      ['no NODE_NAME', CONFIG, { NODE_NAME: '' }, /NODE_NAME is not set; .*fieldRef spec\.nodeName/],
      ['a NODE_NAME that is no node name', CONFIG, { NODE_NAME: 'a"b: c' }, /is not a Kubernetes node name/],
    ]
    for (const [name, config, extra, message] of table) {
      const { env } = setup(t, config)
      const r = spawnSync('sh', [ENTRYPOINT, '--render-only'], { env: { ...env, ...extra }, encoding: 'utf8' })
      t.equal(r.status, 1, `${name}: exit 1`)
      t.match(r.stderr, message, name)
    }
    const { env } = setup(t, CONFIG)
    const r = spawnSync('sh', [ENTRYPOINT], { env: { ...env, NETRANK_CONFIG: '/nonexistent/agent.yaml' }, encoding: 'utf8' })
    t.equal(r.status, 1)
    t.match(r.stderr, /agent config \/nonexistent\/agent\.yaml is missing/)
  })
})
