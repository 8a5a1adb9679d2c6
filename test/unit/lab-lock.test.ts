// The lab's one lock (lab/file-lock.ts): the machine-wide lab lock of the tests
// (test/support/lab-lock.ts) on a private lock path: it excludes
// another process, is released on teardown, takes over a dead holder's lock and times out
// with the holder's pid in the error.
import t from 'tap'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { withLockSync } from '../../lab/file-lock.js'
import { withLabLock } from '../support/lab-lock.js'
import { setTimeout as sleep } from 'node:timers/promises'

const dir = mkdtempSync(join(tmpdir(), 'nr-lab-lock-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

// A stand-in for a test teardown list: run() releases like tap does at the end of a test.
function fakeTest (): { teardown: (fn: () => unknown) => void, run: () => Promise<void> } {
  const fns: Array<() => unknown> = []
  return { teardown: (fn) => { fns.push(fn) }, run: async () => { for (const fn of fns.reverse()) await fn() } }
}

// Another process holding the lock: a node child that writes "<pid> <start>" like the lock does.
function holderProcess (): ChildProcess {
  return spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' })
}

function startOf (pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''
}

t.test('the lock file holds this pid while held and is gone after teardown', async (t) => {
  const path = join(dir, 'a.lock')
  const ft = fakeTest()
  await withLabLock(ft, { path })
  t.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} \\d+\\n$`))
  await ft.run()
  t.notOk(existsSync(path))
})

t.test('a nested acquire in the same process counts instead of waiting, and the outer teardown releases', async (t) => {
  const path = join(dir, 'b.lock')
  const outer = fakeTest()
  const inner = fakeTest()
  await withLabLock(outer, { path, waitMs: 1000 })
  await withLabLock(inner, { path, waitMs: 1000 })
  await inner.run()
  t.ok(existsSync(path), 'still held by the outer test')
  await outer.run()
  t.notOk(existsSync(path))
})

t.test('a live holder in another process makes the waiter wait, and its release lets the waiter in', async (t) => {
  const path = join(dir, 'c.lock')
  const child = holderProcess()
  t.teardown(() => { child.kill() })
  const pid = child.pid ?? 0
  await sleep(50)
  writeFileSync(path, `${pid} ${startOf(pid)}\n`)
  const ft = fakeTest()
  let acquired = false
  const waiting = withLabLock(ft, { path, pollMs: 20 }).then(() => { acquired = true })
  await sleep(200)
  t.notOk(acquired, 'not acquired while the other process holds it')
  t.match(readFileSync(path, 'utf8'), `${pid} `)
  rmSync(path) // the holder releases
  await waiting
  t.ok(acquired)
  t.match(readFileSync(path, 'utf8'), `${process.pid} `)
  await ft.run()
})

t.test('a lock left by a dead process, or by a pid reused by a newer process, is taken over', async (t) => {
  const cases = [
    { name: 'dead pid', content: async () => {
      const child = holderProcess()
      const pid = child.pid ?? 0
      const gone = new Promise((resolve) => child.on('exit', resolve))
      child.kill()
      await gone
      return `${pid} 1\n`
    } },
    { name: 'reused pid (start time differs)', content: async () => `${process.pid} 0\n` },
  ]
  for (const c of cases) {
    const path = join(dir, 'd.lock')
    writeFileSync(path, await c.content())
    const ft = fakeTest()
    await withLabLock(ft, { path, waitMs: 2000, pollMs: 20 })
    t.match(readFileSync(path, 'utf8'), new RegExp(`^${process.pid} [1-9]\\d*\\n$`), c.name)
    await ft.run()
  }
})

t.test('waiting past waitMs throws an error naming the holder pid', async (t) => {
  const path = join(dir, 'e.lock')
  const child = holderProcess()
  t.teardown(() => { child.kill() })
  const pid = child.pid ?? 0
  await sleep(50)
  writeFileSync(path, `${pid} ${startOf(pid)}\n`)
  await t.rejects(withLabLock(fakeTest(), { path, waitMs: 100, pollMs: 20 }), { message: new RegExp(`another lab test holds .*e\\.lock \\(pid ${pid}\\)`) })
  t.match(readFileSync(path, 'utf8'), `${pid} `, 'the holder keeps its lock')
})

t.test('the sync lock (lab state, owner claim): a live holder times it out naming its pid; a dead one is taken over; released after fn, also when fn throws', async (t) => {
  const path = join(dir, 'sync.lock')
  const holder = holderProcess()
  t.teardown(() => { holder.kill('SIGKILL') })
  await sleep(50)
  writeFileSync(path, `${holder.pid ?? 0} ${startOf(holder.pid ?? 0)}\n`)
  t.throws(() => withLockSync(path, { waitMs: 100, pollMs: 10 }, () => 1), { name: 'LockTimeout', holderPid: holder.pid })
  holder.kill('SIGKILL')
  await new Promise((resolve) => holder.once('exit', resolve))
  t.equal(withLockSync(path, { waitMs: 1000, pollMs: 10 }, () => readFileSync(path, 'utf8').split(' ')[0]), String(process.pid), 'the dead holder\'s lock is taken over; it names this process while held')
  t.notOk(existsSync(path), 'released')
  t.throws(() => withLockSync(path, { waitMs: 1000, pollMs: 10 }, () => { throw new Error('inside') }), /inside/)
  t.notOk(existsSync(path), 'released after a throw')
})

