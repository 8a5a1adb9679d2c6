#!/usr/bin/env node
// Installs what `npm start` and `npm test` need on a fresh clone (Debian bookworm, Node 20),
// then builds. Only Node built-ins here: this runs before node_modules exists.
//  - Debian packages (when running as root and one is missing): the real CNI plugins,
//    iperf3, iproute2, Go + libcni for the conformance client, Prometheus, containerd + runc
//    and gcc for the lab's runtime and sandbox image, kubectl (kubernetes-client) when absent.
//  - npm packages: `npm ci` when node_modules is missing or older than package-lock.json.
//  - the build: scripts/build.mjs (tsc, the bundled shim, its self-contained executable).
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
// (iperf3, sockperf, iputils-ping, iproute2 are also what scripts/build-images.mjs copies into the images)
const APT_PACKAGES = [
  'containernetworking-plugins', // bridge, ptp, host-local, bandwidth, tuning … in /usr/lib/cni
  'iperf3', // probes
  'sockperf', // TCP_RR response-time probes
  'iputils-ping', // the idle RTT probe: kernel ICMP echo inside a probe pod's netns
  'iproute2', // ip netns, tc
  'iptables', // portmap's hostPort rules (iptables-nft) in the shim's portmap test
  'nftables', // nft: that test removes the tables portmap made
  'golang-go', // builds the libcni conformance client
  'golang-github-appc-cni-dev', // libcni sources, used offline by that client
  'prometheus', // promtool and the dashboard-on-Prometheus test
  'containerd', // the lab's container runtime: its CRI networks every lab pod through netrank-cni
  'runc', // containerd's OCI runtime
  'gcc', // builds the lab's static sandbox ("pause") binary: no registry is reachable
  'libc6-dev', // … against glibc's static libc.a
]
// kubectl against the lab's API stand-in: Debian's kubernetes-client, unless a kubectl is on PATH
// already (another package's /usr/bin/kubectl would conflict with it)
if (spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error !== undefined) APT_PACKAGES.push('kubernetes-client')

function log (msg) { process.stderr.write(`[bootstrap] ${msg}\n`) }

function missingDebianPackages () {
  if (spawnSync('dpkg-query', ['--version']).status !== 0) return []
  return APT_PACKAGES.filter((p) => {
    const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', p], { encoding: 'utf8' })
    return r.status !== 0 || !r.stdout.includes('install ok installed')
  })
}

function run (cmd, args, opts = {}) {
  log(`$ ${cmd} ${args.join(' ')}`)
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], cwd: root, ...opts })
}

const missing = missingDebianPackages()
if (missing.length > 0) {
  if (process.getuid?.() === 0) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    run('apt-get', ['update', '-q'], { env })
    run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env })
  } else {
    log(`not root: cannot install Debian packages ${missing.join(' ')}; tests that need them will be skipped`)
  }
}

const lock = join(root, 'package-lock.json')
const marker = join(root, 'node_modules', '.package-lock.json')
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  run('npm', ['ci', '--no-audit', '--no-fund'])
}

run(process.execPath, [join(root, 'scripts', 'build.mjs')])
