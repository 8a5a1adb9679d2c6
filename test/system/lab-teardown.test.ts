// However `netrank lab demo` (or `lab up` while it builds) is ended, the lab goes down with
// it (lab/lab-shutdown.ts): `npm start | tee demo.log` then Ctrl-C — tee dies, the demo gets
// SIGINT and EPIPE on its next write — a SIGHUP (a closed terminal) with a second signal
// during the cleanup, and SIGTERM halfway through `lab up`. As root against the build, like
// test/system/lab-cli.test.ts; ONE lab per machine: the file holds the machine's lab lock and
// its tests run in order, each bringing its own lab up and never waiting for the whole demo.
import t from 'tap'
import type { Test } from 'tap'
import { spawn } from 'node:child_process'
import type { ChildProcessByStdio } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import type { LabState } from '../../lab/lab-state.js'
import { LAB_BUILD, LAB_ENTRY, labCli, linkExists, netnsNames, pidAlive } from '../support/lab-cli.js'
import { withLabLock } from '../support/lab-lock.js'
import { cniPluginDir, skip, skipUnlessRoot, tempDir } from '../support/netns.js'

const TEARDOWN_DEFAULTS = Object.freeze({
  upWaitMs: 90_000, // 1.5 min at most for `up` (5–10 s here) before the first demo step
  exitWaitMs: 60_000, // 1 min at most from the signal to the exit (the cleanup takes a few seconds)
  againDelayMs: 300, // the second and third signal, 0.3 s into the cleanup
})

// up to 10 min waiting for another test file's lab, then ~30 s here
t.setTimeout(15 * 60_000)

// NODE_EXTRA_CA_CERTS costs ~90 ms per node start (test/support/lab-cli.ts)
const env = { ...process.env }
delete env.NODE_EXTRA_CA_CERTS

interface Running {
  child: ChildProcessByStdio<null, Readable, Readable>
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>
}

/** Starts `netrank lab <args…> --dir <dir>` with stdout and stderr pipes to this process. */
function start (t: Test, dir: string, args: string[]): Running {
  const child = spawn(process.execPath, [...LAB_ENTRY, ...args, '--dir', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  child.stderr.on('data', (c: Buffer) => { err += c.toString() })
  const exited = new Promise<{ code: number | null, signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  // a failed test must not leave the CLI running: by its pid only
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL') })
  return { child, stdout: () => out, stderr: () => err, exited }
}

/** Resolves once stdout matches `re`; rejects when the process exits first or after `ms`. */
async function until (r: Running, re: RegExp, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!re.test(r.stdout())) {
    if (r.child.exitCode !== null || r.child.signalCode !== null) throw new Error(`exited (${r.child.exitCode ?? r.child.signalCode ?? '?'}) before ${String(re)}:\n${r.stdout()}\n${r.stderr()}`)
    if (Date.now() > deadline) throw new Error(`no ${String(re)} within ${ms / 1000} s:\n${r.stdout()}\n${r.stderr()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** Waits for the exit; resolves with it and the seconds it took. */
async function exit (r: Running): Promise<{ code: number | null, signal: NodeJS.Signals | null, seconds: number }> {
  const t0 = Date.now()
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`still running ${TEARDOWN_DEFAULTS.exitWaitMs / 1000} s after the signal:\n${r.stderr()}`)), TEARDOWN_DEFAULTS.exitWaitMs) })
  try {
    const e = await Promise.race([r.exited, timeout])
    return { ...e, seconds: (Date.now() - t0) / 1000 }
  } finally {
    clearTimeout(timer)
  }
}

const state = (dir: string): LabState => JSON.parse(readFileSync(join(dir, 'lab.json'), 'utf8')) as LabState
const nrBridges = (): string[] => netLinks().filter((l) => l.startsWith('nrbr-'))
function netLinks (): string[] {
  try { return readFileSync('/proc/net/dev', 'utf8').split('\n').slice(2).map((l) => l.trim().split(':')[0] ?? '').filter((l) => l !== '') } catch { return [] }
}

/** Nothing of the lab `before` is left: its state file, netns, bridges and recorded processes. */
function assertTornDown (t: Test, dir: string, before: LabState): void {
  t.notOk(existsSync(join(dir, 'lab.json')), 'the state file is gone')
  const netns = netnsNames()
  t.same(before.pods.map((p) => p.netns).filter((n) => netns.includes(n)), [], `none of the lab's ${before.pods.length} netns is left`)
  t.same(before.bridges.filter(linkExists), [], 'none of its bridges is left')
  t.same(nrBridges(), [], 'no nrbr-* link at all')
  t.same(before.processes.filter((p) => pidAlive(p.pid)).map((p) => `${p.role} ${p.pid}`), [], `none of its ${before.processes.length} recorded processes runs`)
}

t.test('the lab goes down however its demo or up is ended', async (t) => {
  if (skipUnlessRoot(t)) return
  if (cniPluginDir() === undefined) { skip(t, 'needs the CNI plugins (apt-get install containernetworking-plugins)'); return }
  const missing = LAB_BUILD.filter((p) => !existsSync(p))
  if (missing.length > 0) { skip(t, `needs the build (npm run build): missing ${missing.join(', ')}`); return }
  await withLabLock(t)

  await t.test('piped demo: the reader goes away, SIGINT → down, exit 130, the rest of its output in log/demo.log', async (t) => {
    const dir = tempDir(t, 'nr-lab')
    t.teardown(async () => { await labCli(dir, ['down']) }) // whatever happens, after the CLI is gone
    const demo = start(t, dir, ['demo'])
    await until(demo, /━━ 1\./, TEARDOWN_DEFAULTS.upWaitMs)
    const before = state(dir)
    t.equal(before.phase, 'up')
    t.ok(before.processes.length >= 18 && before.pods.length >= 8, `the lab is up: ${before.processes.length} processes, ${before.pods.length} pods`)
    // `| tee` and Ctrl-C: tee (the reader) dies with the group, the demo gets SIGINT, then EPIPE writing
    demo.child.stdout.destroy()
    demo.child.kill('SIGINT')
    const e = await exit(demo)
    t.comment(`the lab was down and the demo gone ${e.seconds.toFixed(1)} s after SIGINT`)
    t.same({ code: e.code, signal: e.signal }, { code: 130, signal: null }, 'exit 130 (SIGINT), not a crash on EPIPE')
    t.notMatch(demo.stderr(), /Unhandled|at .*\(node:|Error: write/, `no stack on stderr:\n${demo.stderr()}`)
    t.match(demo.stderr(), /stdout is closed \(EPIPE\): the rest goes to .*demo\.log/, 'it says where the rest went')
    assertTornDown(t, dir, before)
    const log = readFileSync(join(dir, 'log', 'demo.log'), 'utf8')
    t.match(log, /interrupted \(SIGINT\): taking the lab down/, 'the line the pipe refused is in the log')
    t.match(log, /removed the lab's files/, 'so is the cleanup\'s progress')
  })

  await t.test('SIGHUP: down, exit 129; more signals during the cleanup do not stop it and are said once', async (t) => {
    const dir = tempDir(t, 'nr-lab')
    t.teardown(async () => { await labCli(dir, ['down']) })
    const demo = start(t, dir, ['demo'])
    await until(demo, /━━ 1\./, TEARDOWN_DEFAULTS.upWaitMs)
    const before = state(dir)
    demo.child.kill('SIGHUP')
    await until(demo, /taking the lab down/, 10_000)
    await new Promise((resolve) => setTimeout(resolve, TEARDOWN_DEFAULTS.againDelayMs))
    demo.child.kill('SIGINT')
    demo.child.kill('SIGTERM')
    const e = await exit(demo)
    t.comment(`down and gone ${e.seconds.toFixed(1)} s after the second signal`)
    t.same({ code: e.code, signal: e.signal }, { code: 129, signal: null }, 'exit 129: the first signal says what ended it')
    t.equal(demo.stderr().match(/again: still taking the lab down/g)?.length, 1, `said once:\n${demo.stderr()}`)
    t.match(demo.stdout(), /interrupted \(SIGHUP\): taking the lab down[^]*removed the lab's files/, 'the cleanup ran to its end, on stdout')
    assertTornDown(t, dir, before)
  })

  await t.test('SIGTERM while `lab up` builds: it takes back what it made, exit 143', async (t) => {
    const dir = tempDir(t, 'nr-lab')
    t.teardown(async () => { await labCli(dir, ['down']) })
    const up = start(t, dir, ['up'])
    // stand-ins, probe pods and their servers exist; the agent does not yet
    await until(up, /probe pod /, TEARDOWN_DEFAULTS.upWaitMs)
    const before = state(dir)
    t.equal(before.phase, 'starting')
    up.child.kill('SIGTERM')
    const e = await exit(up)
    t.comment(`up cleaned up and exited ${e.seconds.toFixed(1)} s after SIGTERM`)
    t.same({ code: e.code, signal: e.signal }, { code: 143, signal: null }, 'exit 143 (SIGTERM)')
    t.match(up.stdout(), /up interrupted \(SIGTERM\): cleaning up what was made/)
    t.match(up.stderr(), /netrank lab up: interrupted \(SIGTERM\): what it had made is removed/)
    assertTornDown(t, dir, before)
    // and what it made after the state was read: its branches finish their pod before `down` runs
    t.same(netnsNames().filter((n) => n.startsWith('nr-probe-')), [], 'no probe pod netns at all')
  })
})
