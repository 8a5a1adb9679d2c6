// lab/lab-shutdown.ts without a lab: a fake signal source and fake streams. The first signal
// or broken stream aborts, with the exit code of its cause; later signals are said once; a
// broken stdout's lines (the refused one too) go to the fallback log, a broken stderr's are dropped.
import t from 'tap'
import { EventEmitter } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { exitCodeFor, installShutdown, Interrupted } from '../../lab/lab-shutdown.js'

const dir = mkdtempSync(join(tmpdir(), 'nr-lab-shutdown-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

/** A stream whose writes fail with `code` once `broken` is set, through the callback and an 'error' event, like a pipe. */
class FakeStream extends EventEmitter {
  text = ''
  broken: string | undefined
  write (s: string, cb?: (err?: Error | null) => void): boolean {
    if (this.broken === undefined) { this.text += s; cb?.(null); return true }
    const err = Object.assign(new Error(`write ${this.broken}`), { code: this.broken })
    process.nextTick(() => { cb?.(err); this.emit('error', err) })
    return false
  }
}

const setup = (fallbackLog?: string) => {
  const signals = new EventEmitter()
  const stdout = new FakeStream()
  const stderr = new FakeStream()
  const sd = installShutdown({ name: 'netrank lab demo', stdout, stderr, signals, ...(fallbackLog === undefined ? {} : { fallbackLog }) })
  t.teardown(() => { sd.dispose() })
  return { signals, stdout, stderr, sd }
}
const tick = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

t.test('exit codes: 128 + the signal, 141 for EPIPE, 1 for another stream error', async (t) => {
  t.same(['SIGINT', 'SIGTERM', 'SIGHUP', 'EPIPE', 'EIO'].map(exitCodeFor), [130, 143, 129, 141, 1])
})

t.test('the first signal aborts; later ones are said once on stderr and change nothing', async (t) => {
  const { signals, stderr, sd } = setup()
  t.equal(sd.exitCode(0), 0, 'nothing happened yet')
  signals.emit('SIGHUP', 'SIGHUP')
  t.ok(sd.signal.aborted)
  t.ok(sd.signal.reason instanceof Interrupted && sd.signal.reason.by === 'SIGHUP')
  signals.emit('SIGINT', 'SIGINT')
  signals.emit('SIGTERM', 'SIGTERM')
  t.equal(stderr.text.match(/again: still taking the lab down/g)?.length, 1, stderr.text)
  t.equal(sd.exitCode(0), 129, 'the first signal says what ended it')
  sd.dispose()
  t.equal(signals.listenerCount('SIGINT'), 0, 'dispose removes the signal handlers')
})

t.test('a broken stdout aborts with EPIPE; its lines, the refused one first, go to the log', async (t) => {
  const log = join(dir, 'log', 'demo.log')
  const { stdout, stderr, sd } = setup(log)
  sd.out('before\n')
  stdout.broken = 'EPIPE'
  sd.out('refused\n')
  await tick()
  t.ok(sd.signal.aborted)
  t.equal(sd.exitCode(0), 141)
  sd.out('after\n')
  t.equal(stdout.text, 'before\n')
  t.equal(readFileSync(log, 'utf8'), 'refused\nafter\n')
  t.match(stderr.text, /stdout is closed \(EPIPE\): the rest goes to .*demo\.log/)
})

t.test('a SIGINT then the broken pipe (| tee and Ctrl-C): the exit code stays 130', async (t) => {
  const { signals, stdout, sd } = setup()
  signals.emit('SIGINT', 'SIGINT')
  stdout.broken = 'EPIPE'
  sd.out('taking the lab down\n')
  await tick()
  sd.out('dropped: no fallback log\n')
  t.equal(sd.exitCode(0), 130)
})

t.test('a broken stderr is not written again, and aborts too', async (t) => {
  const { stderr, sd } = setup()
  stderr.broken = 'EIO'
  sd.err('lost\n')
  await tick()
  t.equal(sd.exitCode(0), 1)
  stderr.broken = undefined
  sd.err('not written\n')
  t.equal(stderr.text, '')
})
