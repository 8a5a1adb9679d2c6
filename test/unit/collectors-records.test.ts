// The attachment records as the collectors read them (records written with the shim's own
// writer): events reported once, old records not recounted after a restart, and the
// directory-mtime cache that skips re-parsing unchanged records.
import t from 'tap'
import { utimesSync } from 'node:fs'
import { join } from 'node:path'
import { recordDir, removeRecord, writeRecord } from '../../contract/attachment-record.js'
import { AttachmentRecordsSource } from '../../collectors/attachment-records-source.js'
import { tempDir } from '../support/netns.js'
import { record } from '../support/attachment-records.js'

t.test('each record\'s ADD duration and fallback are reported once; a planned record waits until it is added', async t => {
  const stateDir = tempDir(t, 'nr-records')
  writeRecord(stateDir, record('c1'))
  writeRecord(stateDir, record('c2', { reason: 'fallback-agent-down', plugins: ['b'], state: 'planned', addDurationMs: undefined }))
  const src = new AttachmentRecordsSource({ stateDir, minReadIntervalMs: 0 })
  const durations: number[] = []
  const fallbacks: string[] = []
  const hooks = { cniAddDuration: (s: number) => { durations.push(s) }, fallback: (p: string, r: string) => { fallbacks.push(`${p}:${r}`) } }
  src.reportEvents(hooks)
  t.same(durations, [0.12])
  t.same(fallbacks, [], 'the planned record is not counted yet')
  src.reportEvents(hooks)
  t.same(durations, [0.12], 'not counted twice')
  writeRecord(stateDir, record('c2', { reason: 'fallback-agent-down', plugins: ['b'], addDurationMs: 80 }))
  src.reportEvents(hooks)
  t.same(durations, [0.12, 0.08])
  t.same(fallbacks, ['b:fallback-agent-down'])
  t.same(src.read().attachments.map((a) => [a.pod, a.network, a.ip, a.state]), [['c1', 'a', '10.0.0.2', 'added'], ['c2', 'a', '10.0.0.2', 'added']])
  t.same(src.attachmentsOf('default', 'c1'), [{ ifname: 'eth0', network: 'a' }])
  t.equal(src.attachmentsOf('default', 'nope'), undefined)
})

t.test('records created long before the agent started are not counted again; a re-added container is', async t => {
  const stateDir = tempDir(t, 'nr-records-old')
  const old = new Date(Date.now() - 2 * 3_600_000).toISOString()
  writeRecord(stateDir, record('c1', { createdAt: old, updatedAt: old, reason: 'fallback-timeout' }))
  const src = new AttachmentRecordsSource({ stateDir, minReadIntervalMs: 0 })
  t.same(src.newEvents(), [], 'two hours old: counted by the agent that ran then')
  removeRecord(stateDir, 'c1', 'eth0')
  t.same(src.newEvents(), [])
  writeRecord(stateDir, record('c1'))
  t.equal(src.newEvents().length, 1, 'the same container id added anew is a new record')
})

t.test('unchanged records are not parsed again; a write shows at once', async t => {
  const stateDir = tempDir(t, 'nr-records-cache')
  writeRecord(stateDir, record('c1'))
  // the directory settled long ago (as on a node between pod starts)
  const past = new Date(Date.now() - 60_000)
  utimesSync(recordDir(stateDir), past, past)
  const src = new AttachmentRecordsSource({ stateDir, minReadIntervalMs: 0 })
  const first = src.read()
  t.equal(src.read().records, first.records, 'the same parsed records, no re-read')
  t.not(src.read(true).records, first.records, '`fresh` forces a read')
  writeRecord(stateDir, record('c2'))
  t.same(src.read().records.map((r) => r.containerId), ['c1', 'c2'], 'the rename changed the directory: read again')
  t.same(new AttachmentRecordsSource({ stateDir: join(stateDir, 'missing') }).read().records, [], 'no directory: no records')
})
