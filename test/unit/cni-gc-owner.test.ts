// GC and ADDs in flight: a 'planned' record whose owner (pid + start time) still runs is an
// ADD the runtime's valid list cannot know yet — GC leaves it; a planned record whose owner
// died, or whose pid now belongs to another process, is stale and removed.
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RECORD_FORMAT, readRecord, writeRecord, type AttachmentRecord } from '../../contract/attachment-record.js'
import { cmdGc } from '../../cni/cmd-gc.js'
import { readEnv } from '../../cni/env.js'
import { ownerAlive, selfOwner, startTicksOf } from '../../cni/owner.js'
import { parseShimConf } from '../../cni/shim-conf.js'

function planned (containerId: string, owner: AttachmentRecord['owner']): AttachmentRecord {
  const now = new Date().toISOString()
  return { format: RECORD_FORMAT, containerId, ifname: 'eth0', netns: '', cniVersion: '1.1.0', pod: null, reason: 'explicit', decisionId: '', plugins: [], state: 'planned', ...(owner !== undefined ? { owner } : {}), createdAt: now, updatedAt: now, attachments: [] }
}

t.test('owner: this process is alive; a dead pid or a reused one is not', async (t) => {
  const me = selfOwner()
  t.ok(me !== undefined && me.pid === process.pid && /^\d+$/.test(me.startTicks), 'pid and start ticks read from /proc')
  t.ok(ownerAlive(me))
  t.notOk(ownerAlive(me === undefined ? undefined : { pid: me.pid, startTicks: String(Number(me.startTicks) - 1) }), 'same pid, another start time: a reused pid')
  const child = spawn('true')
  const pid = child.pid ?? 0
  await new Promise((resolve) => child.once('exit', resolve))
  t.equal(startTicksOf(pid), undefined, 'an exited process has no start time')
  t.notOk(ownerAlive(undefined), 'a record without owner (older shims) has no live owner')
})

t.test('GC leaves the plan of a running ADD alone and removes the plan of a dead one', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nr-gc-owner-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const running = spawn('sleep', ['30'])
  t.teardown(() => { running.kill('SIGKILL') })
  const runningOwner = { pid: running.pid ?? 0, startTicks: startTicksOf(running.pid ?? 0) ?? '' }
  const stateDir = join(dir, 'state')
  writeRecord(stateDir, planned('nrinflight', runningOwner))
  writeRecord(stateDir, planned('nrdead', { pid: 2 ** 22 + 7, startTicks: '1' }))
  writeRecord(stateDir, planned('nrold', undefined))
  const conf = parseShimConf({ cniVersion: '1.1.0', name: 'netrank', type: 'netrank-cni', confDir: join(dir, 'net.d'), stateDir, logFile: join(dir, 'cni.log'), 'cni.dev/valid-attachments': [] })
  await cmdGc(conf, readEnv({ CNI_COMMAND: 'GC', CNI_PATH: dir }))
  t.ok(readRecord(stateDir, 'nrinflight', 'eth0') !== undefined, 'the running ADD\'s plan is kept')
  t.equal(readRecord(stateDir, 'nrdead', 'eth0'), undefined, 'a dead owner\'s plan is removed')
  t.equal(readRecord(stateDir, 'nrold', 'eth0'), undefined, 'a plan without owner is removed as before')
  running.kill('SIGKILL')
  await new Promise((resolve) => running.once('exit', resolve))
  await cmdGc(conf, readEnv({ CNI_COMMAND: 'GC', CNI_PATH: dir }))
  t.equal(readRecord(stateDir, 'nrinflight', 'eth0'), undefined, 'once that ADD died, the next GC removes it')
})
