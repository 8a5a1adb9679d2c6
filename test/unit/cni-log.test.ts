// The shim's synchronous file logger has pino's call shape: log.<level>(fields, msg), errors as { err } with their stack.
import { readFileSync } from 'node:fs'
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
