#!/usr/bin/env node
// Builds the agent and probe images without a Docker engine: OCI image layout archives
// (dist/images/agent.tar, dist/images/probe.tar) that `ctr images import`, `skopeo copy
// oci-archive:…` and `podman load` take. Run after the product build (`npm run build:product`
// or `npm run build`); docs/install.md#images describes the layers and how to publish them.
//
//   node scripts/build-images.mjs [--out DIR] [--image agent|probe]… [--json]
//   node scripts/build-images.mjs --rootfs DIR --ref NAME:TAG --archive FILE [--entrypoint JSON] [--user U] [--json]
//       (any folder as a one-layer image: the lab's sandbox image)
//
// Every file comes from this machine, nothing from a registry:
//  - the Debian programs the images run (iperf3, sockperf, ping; for the agent also sh,
//    coreutils, grep, nsenter, ip) with their shared libraries (ldd) from the installed
//    Debian packages; each package's copyright file and name/version go in too;
//  - Node.js: this machine's `node` binary (the one running this script, Node 20 — Debian
//    bookworm's own nodejs package is Node 18, below package.json's engines);
//  - the production dependencies: the package-lock.json entries that are not dev-only,
//    copied from node_modules (the tree `npm ci --omit=dev` makes, offline);
//  - the product build: dist/ of the folders tsconfig.product.json compiles (no lab, bench
//    or test code), the shim executable, manifests/install/*.sh, examples/.
// Layers are reproducible: entries sorted by name, owner 0:0, mtime 0, modes normalised
// (0755 executables and folders, 0644 files), gzip without a timestamp; the config's
// `created` is the commit time (or SOURCE_DATE_EPOCH). Two builds of the same tree on the
// same machine give the same digests (test/system/images-run.test.ts checks it).
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  chmodSync, copyFileSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync,
  readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync, writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { Buffer } from 'node:buffer'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const step = (msg) => process.stderr.write(`[build-images] ${msg}\n`)

/** The image names the manifests use (manifests/base/daemonset.yaml, manifests/probe/daemonset.yaml). */
export const IMAGE_REFS = Object.freeze({
  agent: `ghcr.io/netrank/netrank:${pkg.version}`,
  probe: `ghcr.io/netrank/netrank-probe:${pkg.version}`,
})
const SOURCE = process.env.NETRANK_IMAGE_SOURCE ?? 'https://github.com/netrank/netrank'
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
const ARCH = { x64: 'amd64', arm64: 'arm64' }[process.arch]

// Programs by absolute path on this machine (Debian bookworm). The probe image holds the
// probe servers; the agent image runs the probe clients inside probe pods (nsenter) and
// its POSIX sh entrypoint and installer scripts.
const PROBE_PROGRAMS = ['/usr/bin/iperf3', '/usr/bin/sockperf', '/usr/bin/ping']
const AGENT_PROGRAMS = [
  '/bin/sh', '/usr/bin/dash', '/usr/bin/nsenter', '/usr/bin/ip', '/usr/bin/grep', '/usr/bin/sed', '/usr/bin/cmp',
  ...['basename', 'cat', 'chmod', 'cp', 'cut', 'dirname', 'env', 'head', 'id', 'ln', 'ls', 'mkdir', 'mktemp', 'mv',
    'printf', 'readlink', 'rm', 'sleep', 'sort', 'tail', 'test', 'touch', 'tr', 'wc', '['].map((p) => `/usr/bin/${p}`),
]

function run (cmd, args, opts = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...opts })
  } catch (err) {
    if (err.code === 'ENOENT') throw new Error(`\`${cmd}\` is not installed`)
    throw new Error(`${cmd} ${args.join(' ')} failed: ${String(err.stderr ?? err.message).trim()}`)
  }
}

/**
 * A layer being assembled in a staging folder: host files placed at their canonical
 * (realpath) location with the symlinks that lead to them, so `/bin/sh` → dash and
 * `/lib64/ld-linux-x86-64.so.2` resolve inside the image as on the host.
 */
class Layer {
  constructor (dir, what, exclude = new Set()) {
    this.dir = dir
    this.what = what
    this.placed = new Set()
    this.fromHost = new Set() // host paths copied in (their Debian packages are recorded)
    this.packed = undefined
    this.exclude = exclude // paths another (earlier) layer already holds
    mkdirSync(dir, { recursive: true })
  }

  has (p) { return this.placed.has(p) || this.exclude.has(p) }

  mkdir (p, mode = 0o755) {
    mkdirSync(join(this.dir, p), { recursive: true })
    chmodSync(join(this.dir, p), mode)
    this.placed.add(p)
  }

  symlink (p, target) {
    if (this.has(p)) return
    mkdirSync(dirname(join(this.dir, p)), { recursive: true })
    symlinkSync(target, join(this.dir, p))
    this.placed.add(p)
  }

  write (p, content, mode = 0o644) {
    mkdirSync(dirname(join(this.dir, p)), { recursive: true })
    writeFileSync(join(this.dir, p), content)
    chmodSync(join(this.dir, p), mode)
    this.placed.add(p)
  }

  copy (hostPath, p = hostPath) {
    mkdirSync(dirname(join(this.dir, p)), { recursive: true })
    copyFileSync(hostPath, join(this.dir, p))
    this.placed.add(p)
    this.fromHost.add(hostPath)
  }

  /** Adds a host path (file or symlink chain) at the same path in the image. */
  addHostPath (p) {
    // the folder part canonical (the image has the host's usr-merge links /bin, /lib …)
    const canonical = join(realpathSync(dirname(p)), basename(p))
    if (this.has(canonical)) return
    const st = lstatSync(canonical)
    if (st.isSymbolicLink()) {
      const target = readlinkSync(canonical)
      this.symlink(canonical, target)
      this.addHostPath(resolve(dirname(canonical), target))
    } else if (st.isFile()) {
      this.copy(canonical)
    } else {
      throw new Error(`${p}: not a file`)
    }
  }

  /** A program and every shared library ldd names for it (the dynamic loader included). */
  addProgram (p) {
    if (!existsSync(p)) throw new Error(`${p} is not installed on this machine (see scripts/bootstrap.mjs)`)
    this.addHostPath(p)
    for (const lib of sharedLibraries(realpathSync(p))) this.addHostPath(lib)
  }
}

/** ldd's paths: `libx.so => /path (0x…)` and the loader's own `/lib64/ld-… (0x…)`. */
function sharedLibraries (file) {
  const out = run('ldd', [file])
  const libs = []
  for (const line of out.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(0x/.exec(line)
    if (m !== null) libs.push(m[1])
  }
  return libs
}

/** The Debian package owning each host path (dpkg's database predates usr-merge for some). */
function owningPackages (paths) {
  const owners = new Map()
  for (const p of paths) {
    const candidates = [p, p.replace(/^\/usr\/(bin|sbin|lib|lib64)\//, '/$1/'), p.replace(/^\/(bin|sbin|lib|lib64)\//, '/usr/$1/')]
    for (const c of new Set(candidates)) {
      try {
        const line = execFileSync('dpkg-query', ['-S', c], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0] ?? ''
        const name = line.split(':')[0]?.split(',')[0]?.trim()
        if (name !== undefined && name !== '' && !line.startsWith('diversion')) { owners.set(p, name); break }
      } catch { /* not this spelling */ }
    }
  }
  return owners
}

/** /usr/share/doc/<pkg>/copyright of every package a layer's host files come from, and their versions. */
function addPackageRecords (layer, name) {
  const packages = [...new Set(owningPackages([...layer.fromHost]).values())].sort()
  const lines = packages.map((p) => `${p} ${run('dpkg-query', ['-W', '-f=${Version}', p]).trim()}`)
  for (const p of packages) {
    const c = `/usr/share/doc/${p}/copyright`
    if (existsSync(c)) layer.copy(realpathSync(c), c)
  }
  layer.write(`/usr/share/netrank/packages-${name}.txt`, `# Debian packages whose files are in this layer (dpkg-query), name version\n${lines.join('\n')}\n`)
  return lines
}

/** Modes made independent of the umask and the source: folders and executables 0755, files 0644. */
function normaliseModes (dir, keep = new Map()) {
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name)
      if (e.isSymbolicLink()) continue
      const rel = `/${relative(dir, p)}`
      const st = statSync(p)
      if (keep.has(rel)) chmodSync(p, keep.get(rel))
      else if (e.isDirectory()) chmodSync(p, 0o755)
      else chmodSync(p, (st.mode & 0o111) !== 0 ? 0o755 : 0o644)
      if (e.isDirectory()) walk(p)
    }
  }
  chmodSync(dir, 0o755)
  walk(dir)
}

const sha256 = (b) => createHash('sha256').update(b).digest('hex')

/** Packs a staging folder into a gzip layer blob; returns its descriptor, diff_id and sizes. */
function packLayer (layer, blobs, keepModes) {
  if (layer.packed !== undefined) { // a layer shared by two images: the same blob
    copyFileSync(layer.packed.path, join(blobs, layer.packed.desc.digest.slice('sha256:'.length)))
    return layer.packed.desc
  }
  normaliseModes(layer.dir, keepModes)
  const tarPath = `${layer.dir}.tar`
  const entries = readdirSync(layer.dir).sort()
  run('tar', ['-C', layer.dir, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--format=gnu', '--no-acls', '--no-xattrs', '--no-selinux', '-cf', tarPath, ...entries])
  const tar = readFileSync(tarPath)
  // zlib's gzip header has mtime 0 and no file name: the same tar gives the same bytes
  const gz = gzipSync(tar, { level: 6 })
  const digest = sha256(gz)
  writeFileSync(join(blobs, digest), gz)
  rmSync(tarPath)
  const desc = { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${digest}`, size: gz.length, diffId: `sha256:${sha256(tar)}`, uncompressedSize: tar.length, what: layer.what }
  layer.packed = { desc, path: join(blobs, digest) }
  return desc
}

function gitInfo () {
  const git = (args) => { try { return execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() } catch { return '' } }
  const revision = process.env.NETRANK_IMAGE_REVISION ?? git(['rev-parse', 'HEAD'])
  const dirty = process.env.NETRANK_IMAGE_REVISION === undefined && git(['status', '--porcelain', '--', 'package.json', 'package-lock.json', 'manifests/install', 'examples', ...productFolders()]) !== ''
  const epoch = process.env.SOURCE_DATE_EPOCH ?? git(['log', '-1', '--format=%ct'])
  const created = new Date((Number(epoch) || 0) * 1000).toISOString().replace(/\.000Z$/, 'Z')
  return { revision: revision === '' ? 'unknown' : `${revision}${dirty ? '-dirty' : ''}`, created }
}

function productFolders () {
  return JSON.parse(readFileSync(join(root, 'tsconfig.product.json'), 'utf8')).include
}

/** The non-dev package-lock entries, copied from node_modules (what `npm ci --omit=dev` installs). */
function addProductionDependencies (layer, dest) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'))
  let count = 0
  for (const [key, entry] of Object.entries(lock.packages ?? {})) {
    if (!key.startsWith('node_modules/') || entry.dev === true) continue
    const src = join(root, key)
    if (!existsSync(src)) {
      if (entry.optional === true) continue // an optional dependency for another platform
      throw new Error(`${key} (a production dependency in package-lock.json) is not installed: run npm ci`)
    }
    if (entry.link === true) throw new Error(`${key} is a link; the image builder copies installed packages only`)
    const installed = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8')).version
    if (entry.version !== undefined && installed !== entry.version) throw new Error(`${key} is ${installed}, package-lock.json says ${entry.version}: run npm ci`)
    // nested node_modules are entries of their own; .bin links are not needed at run time
    cpSync(src, join(layer.dir, dest, key), { recursive: true, verbatimSymlinks: true, filter: (s) => relative(src, s).split('/')[0] !== 'node_modules' })
    count++
  }
  return count
}

function common (layer) {
  for (const d of ['/etc', '/proc', '/sys', '/dev', '/run', '/var', '/usr/local/bin']) layer.mkdir(d)
  layer.mkdir('/tmp', 0o1777)
  // Debian bookworm's usr-merge: /bin, /sbin, /lib, /lib64 are links into /usr
  for (const top of ['/bin', '/sbin', '/lib', '/lib64']) {
    if (lstatSync(top, { throwIfNoEntry: false })?.isSymbolicLink() === true) layer.symlink(top, readlinkSync(top))
  }
  layer.write('/etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n')
  layer.write('/etc/group', 'root:x:0:\nnogroup:x:65534:\n')
  layer.write('/etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files dns\n')
}

/**
 * Builds the images into `outDir` and returns what it made: per image the archive, the
 * manifest and config digests and the layers.
 */
export function buildImages ({ outDir = join(root, 'dist', 'images'), images = ['agent', 'probe'] } = {}) {
  if (ARCH === undefined) throw new Error(`no OCI architecture for ${process.arch}`)
  const dist = join(root, 'dist')
  for (const p of ['bin/netrank.js', 'bin/netrank-cni', 'collectors/cri/runtime-v1.proto']) {
    if (!existsSync(join(dist, p))) throw new Error(`dist/${p} is missing: run \`npm run build:product\` (or \`npm run build\`) first`)
  }
  const work = mkdtempSync(join(tmpdir(), 'nr-images-'))
  process.umask(0o022)
  try {
    mkdirSync(outDir, { recursive: true })
    const { revision, created } = gitInfo()
    const labels = (title, description) => ({
      'org.opencontainers.image.title': title,
      'org.opencontainers.image.description': description,
      'org.opencontainers.image.source': SOURCE,
      'org.opencontainers.image.version': pkg.version,
      'org.opencontainers.image.revision': revision,
      'org.opencontainers.image.created': created,
      'org.opencontainers.image.licenses': pkg.license,
    })

    // layer 1, shared by both images (a registry stores it once): the probe tools
    const tools = new Layer(join(work, 'tools'), 'iperf3, sockperf, ping and their libraries (Debian), /etc/passwd, /tmp')
    common(tools)
    for (const p of PROBE_PROGRAMS) tools.addProgram(p)
    const toolPackages = addPackageRecords(tools, 'tools')
    const made = []
    const blobsOf = (name) => { const b = join(work, `${name}-layout`, 'blobs', 'sha256'); mkdirSync(b, { recursive: true }); return b }
    const keep = new Map([['/tmp', 0o1777]])

    if (images.includes('probe')) {
      step('probe image')
      const blobs = blobsOf('probe')
      const layers = [packLayer(tools, blobs, keep)]
      made.push(writeImage({ layout: join(work, 'probe-layout'), archive: join(outDir, 'probe.tar'), name: 'probe', ref: IMAGE_REFS.probe, layers, created, extra: { packages: toolPackages }, config: {
        User: '65534:65534',
        Env: [PATH_ENV],
        Entrypoint: ['iperf3', '--server', '--port', '5201', '--forceflush'],
        ExposedPorts: { '5201/tcp': {}, '11111/tcp': {} },
        Labels: labels('netrank-probe', 'netrank probe pod: an iperf3 server (the entrypoint) and sockperf for TCP_RR'),
      } }))
    }

    if (images.includes('agent')) {
      step('agent image')
      const blobs = blobsOf('agent')
      const layers = [packLayer(tools, blobs, keep)]
      const base = new Layer(join(work, 'base'), 'sh, coreutils, grep, sed, cmp, nsenter, ip and their libraries (Debian)', tools.placed)
      for (const p of AGENT_PROGRAMS) base.addProgram(p)
      if (existsSync('/etc/ssl/certs/ca-certificates.crt')) base.copy(realpathSync('/etc/ssl/certs/ca-certificates.crt'), '/etc/ssl/certs/ca-certificates.crt')
      const basePackages = addPackageRecords(base, 'base')
      layers.push(packLayer(base, blobs, keep))

      const node = new Layer(join(work, 'node'), `Node.js ${process.version} (${realpathSync(process.execPath)}) and its libraries`, new Set([...tools.placed, ...base.placed]))
      node.copy(realpathSync(process.execPath), '/usr/local/bin/node')
      for (const lib of sharedLibraries(realpathSync(process.execPath))) node.addHostPath(lib)
      const nodePackages = addPackageRecords(node, 'node')
      layers.push(packLayer(node, blobs, keep))

      const deps = new Layer(join(work, 'deps'), 'the production npm dependencies (package-lock.json, no dev)')
      const count = addProductionDependencies(deps, '/app')
      deps.copy(join(root, 'package.json'), '/app/package.json')
      deps.copy(join(root, 'package-lock.json'), '/app/package-lock.json')
      layers.push(packLayer(deps, blobs, keep))

      const shim = new Layer(join(work, 'shim'), 'the CNI shim executable (dist/bin/netrank-cni)')
      shim.copy(join(dist, 'bin', 'netrank-cni'), '/usr/local/lib/netrank/netrank-cni')
      layers.push(packLayer(shim, blobs, keep))

      const app = new Layer(join(work, 'app'), 'the product build (dist/ without lab, bench, test), install scripts, examples')
      for (const f of productFolders()) {
        if (!existsSync(join(dist, f))) throw new Error(`dist/${f} is missing: run \`npm run build:product\``)
        cpSync(join(dist, f), join(app.dir, 'app', 'dist', f), { recursive: true, verbatimSymlinks: true, filter: (s) => !/\.test\.js$/.test(s) && s !== join(dist, 'bin', 'netrank-cni') })
      }
      // the same executable as /usr/local/lib/netrank/netrank-cni, not a second 100 MB copy
      app.symlink('/app/dist/bin/netrank-cni', '/usr/local/lib/netrank/netrank-cni')
      cpSync(join(root, 'examples'), join(app.dir, 'app', 'examples'), { recursive: true })
      for (const s of ['install-cni.sh', 'agent-entrypoint.sh']) app.copy(join(root, 'manifests', 'install', s), `/usr/local/lib/netrank/${s}`)
      app.symlink('/usr/local/bin/netrank', '/app/dist/bin/netrank.js')
      layers.push(packLayer(app, blobs, keep))

      made.push(writeImage({ layout: join(work, 'agent-layout'), archive: join(outDir, 'agent.tar'), name: 'agent', ref: IMAGE_REFS.agent, layers, created, extra: { packages: [...toolPackages, ...basePackages, ...nodePackages], npmPackages: count }, config: {
        // root: entering probe pods' network namespaces needs CAP_SYS_ADMIN as uid 0
        User: '0:0',
        Env: [PATH_ENV, 'NODE_ENV=production'],
        Entrypoint: ['/usr/local/lib/netrank/agent-entrypoint.sh'],
        WorkingDir: '/app',
        ExposedPorts: { '9797/tcp': {} },
        Labels: labels('netrank', 'netrank agent (netrank agent), the netrank CLI and the netrank-cni shim executable'),
      } }))
    }
    writeFileSync(join(outDir, 'images.json'), JSON.stringify(made, null, 2) + '\n')
    return made
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/**
 * Packs a ready folder as a one-layer image archive (the lab's sandbox "pause" image:
 * lab/lab-sandbox-image.ts): the same layer rules, config and layout as the product images.
 */
export function packRootfs ({ rootfs, archive, ref, entrypoint, user, what }) {
  const work = mkdtempSync(join(tmpdir(), 'nr-images-'))
  try {
    const layout = join(work, 'layout')
    const blobs = join(layout, 'blobs', 'sha256')
    mkdirSync(blobs, { recursive: true })
    const layer = new Layer(join(work, 'rootfs'), what ?? `the folder ${basename(rootfs)}`)
    cpSync(rootfs, layer.dir, { recursive: true, verbatimSymlinks: true })
    mkdirSync(dirname(archive), { recursive: true })
    const config = { Entrypoint: entrypoint, Env: [PATH_ENV], ...(user !== undefined ? { User: user } : {}) }
    return writeImage({ layout, archive, name: basename(archive, '.tar'), ref, layers: [packLayer(layer, blobs)], config, created: '1970-01-01T00:00:00Z' })
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

/** Writes the config, manifest and index.json next to the layers' blobs in `layout` and packs it to `archive`. */
function writeImage ({ layout, archive, name, ref, layers, config, created, extra = {} }) {
  const blobs = join(layout, 'blobs', 'sha256')
  const blob = (b) => { const d = sha256(b); writeFileSync(join(blobs, d), b); return { digest: `sha256:${d}`, size: b.length } }
  const cfg = blob(Buffer.from(JSON.stringify({
    created,
    architecture: ARCH,
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created, created_by: `netrank scripts/build-images.mjs: ${l.what}` })),
  })))
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  })))
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      platform: { architecture: ARCH, os: 'linux' },
      annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': ref.split(':').pop() },
    }],
  }))
  run('tar', ['-C', layout, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '--format=gnu', '-cf', archive, 'oci-layout', 'index.json', 'blobs'])
  const r = {
    name, ref, archive, manifestDigest: manifest.digest, configDigest: cfg.digest,
    size: layers.reduce((s, l) => s + l.size, 0), uncompressedSize: layers.reduce((s, l) => s + l.uncompressedSize, 0),
    layers: layers.map(({ digest, diffId, size, uncompressedSize, what }) => ({ digest, diffId, size, uncompressedSize, what })),
    ...extra,
  }
  step(`${archive}: ${ref}@${manifest.digest} (${(r.size / 1e6).toFixed(1)} MB compressed, ${layers.length} layers)`)
  return r
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
  const images = args.flatMap((a, i) => (args[i - 1] === '--image' ? [a] : []))
  for (const i of images) if (!(i in IMAGE_REFS)) { step(`unknown image ${i} (agent, probe)`); process.exit(2) }
  try {
    const rootfs = opt('--rootfs')
    let made
    if (rootfs !== undefined) {
      const ref = opt('--ref'); const archive = opt('--archive')
      if (ref === undefined || archive === undefined) { step('--rootfs needs --ref and --archive'); process.exit(2) }
      made = packRootfs({ rootfs: resolve(rootfs), archive: resolve(archive), ref, entrypoint: JSON.parse(opt('--entrypoint') ?? 'null') ?? undefined, user: opt('--user') })
    } else {
      const out = opt('--out')
      made = buildImages({ outDir: out !== undefined ? resolve(out) : undefined, images: images.length > 0 ? images : undefined })
    }
    if (args.includes('--json')) process.stdout.write(JSON.stringify(made) + '\n')
  } catch (err) {
    step(`error: ${err.message}`)
    process.exit(1)
  }
}
