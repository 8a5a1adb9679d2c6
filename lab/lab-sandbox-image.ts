/**
 * The lab's sandbox ("pause") image, made on the machine because no registry is reachable:
 * lab/images/pause.c compiled static with gcc, one layer holding `/pause`, packed by
 * scripts/build-images.mjs (the product images' packer: fixed owner, mtime and modes, so the
 * same binary gives the same digests) as an OCI image layout archive for `ctr images import`.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs'
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

function tool (cmd: string, args: string[], what: string, pkg: string): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] })
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer }
    if (e.code === 'ENOENT') throw new Error(`${what}: \`${cmd}\` is not installed (apt-get install ${pkg})`)
    throw new Error(`${what}: ${cmd} failed: ${e.stderr?.toString().trim() ?? e.message}`)
  }
}

/** scripts/build-images.mjs, the image packer (from the sources, or from dist/lab/ in the repository). */
export function imageBuilder (): string {
  for (const p of [join(here, '..', 'scripts', 'build-images.mjs'), join(here, '..', '..', 'scripts', 'build-images.mjs')]) {
    if (existsSync(p)) return p
  }
  throw new Error(`scripts/build-images.mjs not found next to ${here}`)
}

/**
 * Builds `<workDir>/pause-oci.tar` (an OCI image layout with `io.containerd.image.name`
 * = {@link SANDBOX_IMAGE}, packed by scripts/build-images.mjs like the product images) and
 * returns its path and the manifest digest.
 */
export function buildSandboxImage (workDir: string): { archive: string, digest: string } {
  const root = join(workDir, 'pause-build')
  rmSync(root, { recursive: true, force: true })
  const rootfs = join(root, 'rootfs')
  mkdirSync(rootfs, { recursive: true })
  const src = join(root, 'pause.c')
  copyFileSync(pauseSource(), src)
  tool('gcc', ['-static', '-Os', '-s', '-o', join(rootfs, 'pause'), src], 'building the sandbox image', 'gcc libc6-dev')
  chmodSync(join(rootfs, 'pause'), 0o755)
  const archive = join(workDir, 'pause-oci.tar')
  let out: string
  try {
    out = execFileSync(process.execPath, [imageBuilder(), '--rootfs', rootfs, '--ref', SANDBOX_IMAGE, '--archive', archive, '--entrypoint', JSON.stringify(['/pause']), '--user', '65535:65535', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (err) {
    throw new Error(`packing the sandbox image: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`)
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
  return { archive, digest: (JSON.parse(out) as { manifestDigest: string }).manifestDigest }
}
