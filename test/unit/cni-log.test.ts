// The shim's synchronous file logger has pino's call shape: log.<level>(fields, msg), errors as { err } with their stack.
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { configureLog, log, pendingLogLines } from '../../cni/log.js'
import { tempDir } from '../support/netns.js'

t.test('lines before the log file is known are kept, then flushed; levels below the configured one are dropped; errors keep their stack', async (t) => {
  log.info({ early: true }, 'before the conf')
  t.equal(pendingLogLines().length, 1, 'kept in memory')
  const file = join(tempDir(t, 'nr-cni-log'), 'sub', 'cni.log')
  configureLog(file, 'info', { containerId: 'c1' })
  log.debug({ n: 1 }, 'dropped at info')
  log.warn({ err: new Error('boom'), errors: [new TypeError('inner')] }, 'delegate failed')
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  t.equal(lines.length, 2)
  t.match(lines[0], { level: 'info', msg: 'before the conf', early: true })
  t.match(lines[1], {
    level: 'warn',
    msg: 'delegate failed',
    containerId: 'c1',
    pid: process.pid,
    err: { name: 'Error', message: 'boom', stack: /cni-log\.test\.ts/ },
    errors: [{ name: 'TypeError', message: 'inner' }],
  })
  t.match(lines[1]?.time, /^\d{4}-\d\d-\d\dT/)
})

t.test('the log file is 0600, a wider one is narrowed, and a full one is rotated to <file>.1 on the next run', async (t) => {
  const dir = tempDir(t, 'nr-cni-log-rot')
  const file = join(dir, 'cni.log')
  configureLog(file, 'info', {}, 1000)
  log.info({}, 'first')
  t.equal(statSync(file).mode & 0o777, 0o600, 'created 0600')
  // an older version's 0644 file: narrowed by the next run's first line
  chmodSync(file, 0o644)
  configureLog(join(dir, 'other.log'), 'info', {}, 1000) // a new run (the shim process starts afresh)
  configureLog(file, 'info', {}, 1000)
  log.info({}, 'second')
  t.equal(statSync(file).mode & 0o777, 0o600, 'narrowed to 0600')
  // past maxBytes: the next run starts a new file and keeps one old one
  writeFileSync(file, 'x'.repeat(1500))
  configureLog(join(dir, 'other.log'), 'info', {}, 1000)
  configureLog(file, 'info', {}, 1000)
  log.info({ n: 1 }, 'after rotation')
  log.info({ n: 2 }, 'same run, same file')
  t.equal(readFileSync(`${file}.1`, 'utf8'), 'x'.repeat(1500), 'the full file became cni.log.1')
  const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { msg: string })
  t.same(lines.map((l) => l.msg), ['after rotation', 'same run, same file'], 'a new file with this run\'s lines, rotated once')
  t.equal(statSync(file).mode & 0o777, 0o600)
})
