#!/usr/bin/env node
// Builds the libcni conformance client (test/conformance/libcni-client/main.go) into
// dist/test/libcni-client, offline: GOPATH mode against Debian's golang-github-appc-cni-dev
// sources in /usr/share/gocode (no module downloads, GOPROXY=off, no cgo so no C compiler).
// Skips with a message when Go or the libcni sources are not installed; the conformance
// test then skips too. Run by scripts/build.mjs after tsc.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { homedir, tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const GOCODE = '/usr/share/gocode' // Debian's GOPATH for -dev packages
const LIBCNI = join(GOCODE, 'src/github.com/containernetworking/cni/libcni')
const source = join(root, 'test/conformance/libcni-client/main.go')
const out = join(root, 'dist/test/libcni-client')
const log = (msg) => process.stderr.write(`[build-conformance] ${msg}\n`)

if (spawnSync('go', ['version'], { stdio: 'ignore' }).status !== 0) {
  log('skipped: `go` is not installed (apt-get install golang-go); the libcni conformance test will skip')
  process.exit(0)
}
if (!existsSync(LIBCNI)) {
  log(`skipped: libcni sources not found at ${LIBCNI} (apt-get install golang-github-appc-cni-dev); the libcni conformance test will skip`)
  process.exit(0)
}

const gopath = mkdtempSync(join(tmpdir(), 'netrank-gopath-'))
try {
  const pkgDir = join(gopath, 'src/netrank.local/libcni-client')
  mkdirSync(pkgDir, { recursive: true })
  copyFileSync(source, join(pkgDir, 'main.go'))
  mkdirSync(dirname(out), { recursive: true })
  const home = process.env.HOME ?? homedir()
  const env = {
    ...process.env,
    GO111MODULE: 'off', // GOPATH mode: imports resolve in GOPATH, no go.mod, no module cache
    GOPATH: `${gopath}:${GOCODE}`,
    GOFLAGS: '', // ignore user flags such as -mod=…, meaningless in GOPATH mode
    GOPROXY: 'off', // never download
    CGO_ENABLED: '0', // static binary, no C toolchain needed
    GOCACHE: process.env.GOCACHE ?? (home !== '' && existsSync(home) ? join(home, '.cache/go-build') : join(tmpdir(), 'netrank-go-build-cache')),
  }
  log(`go build -o ${out} (GOPATH mode, libcni from ${GOCODE})`)
  execFileSync('go', ['build', '-trimpath', '-o', out, '.'], { cwd: pkgDir, env, stdio: 'inherit' })
} finally {
  rmSync(gopath, { recursive: true, force: true })
}
