/**
 * The lab's sandbox ("pause") image, made on the machine because no registry is reachable:
 * lab/images/pause.c compiled static with gcc, one layer holding `/pause`, packed as an
 * OCI image layout archive that `ctr images import` takes. The layer is made with fixed
 * owner and mtime, so the same binary gives the same digests.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The image name the lab's containerd is configured with as its sandbox_image. */
export const SANDBOX_IMAGE = 'netrank.local/lab/pause:1'

const here = dirname(fileURLToPath(import.meta.url))

/** lab/images/pause.c, from the sources (tsx) or beside the compiled module (the build copies it). */
export function pauseSource (): string {
  for (const p of [join(here, 'images', 'pause.c'), join(here, '..', '..', 'lab', 'images', 'pause.c')]) {
    if (existsSync(p)) return p
  }
  throw new Error(`lab/images/pause.c not found next to ${here}`)
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

function tool (cmd: string, args: string[], what: string, pkg: string): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer }
    if (e.code === 'ENOENT') throw new Error(`${what}: \`${cmd}\` is not installed (apt-get install ${pkg})`)
    throw new Error(`${what}: ${cmd} failed: ${e.stderr?.toString().trim() ?? e.message}`)
  }
}

/**
 * Builds `<workDir>/pause-oci.tar` (an OCI image layout with `io.containerd.image.name`
 * = {@link SANDBOX_IMAGE}) and returns its path and the manifest digest.
 */
export function buildSandboxImage (workDir: string): { archive: string, digest: string } {
  const root = join(workDir, 'pause-build')
  rmSync(root, { recursive: true, force: true })
  const rootfs = join(root, 'rootfs')
  const layout = join(root, 'layout')
  const blobs = join(layout, 'blobs', 'sha256')
  mkdirSync(rootfs, { recursive: true })
  mkdirSync(blobs, { recursive: true })
  const src = join(root, 'pause.c')
  copyFileSync(pauseSource(), src)
  tool('gcc', ['-static', '-Os', '-s', '-o', join(rootfs, 'pause'), src], 'building the sandbox image', 'gcc libc6-dev')
  chmodSync(join(rootfs, 'pause'), 0o755)
  const layerPath = join(root, 'layer.tar')
  tool('tar', ['-C', rootfs, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', layerPath, 'pause'], 'packing the sandbox image', 'tar')

  const blob = (b: Buffer): { digest: string, size: number } => {
    const d = sha256(b)
    writeFileSync(join(blobs, d), b)
    return { digest: `sha256:${d}`, size: b.length }
  }
  const layer = blob(readFileSync(layerPath))
  const config = blob(Buffer.from(JSON.stringify({
    architecture: 'amd64',
    os: 'linux',
    config: { Entrypoint: ['/pause'], User: '65535:65535' },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
    history: [{ created_by: 'netrank lab: gcc -static -Os pause.c' }],
  })))
  const manifest = blob(Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
  })))
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }))
  writeFileSync(join(layout, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      platform: { architecture: 'amd64', os: 'linux' },
      annotations: { 'io.containerd.image.name': SANDBOX_IMAGE, 'org.opencontainers.image.ref.name': SANDBOX_IMAGE.split(':').pop() ?? '1' },
    }],
  }))
  const archive = join(workDir, 'pause-oci.tar')
  tool('tar', ['-C', layout, '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-cf', archive, 'oci-layout', 'index.json', 'blobs'], 'packing the sandbox image', 'tar')
  rmSync(root, { recursive: true, force: true })
  return { archive, digest: manifest.digest }
}
