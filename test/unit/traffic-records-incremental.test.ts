// The attachment records read incrementally (collectors/attachment-records-source.ts): after
// a read, a changed record is the only file read again, a removed one is dropped, and a
// corrupted one is a named, counted error (once per version), never a failed read.
import t from 'tap'
import { readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { recordDir, recordPath, removeRecord, writeRecord } from '../../contract/attachment-record.js'
import { AttachmentRecordsSource } from '../../collectors/attachment-records-source.js'
import type { AttachmentRecord } from '../../contract/attachment-record.js'
import type { RecordsFs } from '../../collectors/attachment-records-source.js'
import { tempDir } from '../support/netns.js'
import { record } from '../support/attachment-records.js'

/** The node's fs, with every file read named. */
function countingFs (): { fs: RecordsFs, reads: string[] } {
  const reads: string[] = []
  return {
    reads,
    fs: {
      readdirSync: (p) => readdirSync(p),
      statSync: (p, o) => statSync(p, o),
      readFileSync: (p, e) => { reads.push(p.slice(p.lastIndexOf('/') + 1)); return readFileSync(p, e) },
    },
  }
}

// settleMs 0: the test writes files faster than any timestamp tick matters; the settle
// span itself has its own test below.
const make = (stateDir: string, fs: RecordsFs, over: { settleMs?: number, wallClock?: () => number } = {}): AttachmentRecordsSource =>
  new AttachmentRecordsSource({ stateDir, minReadIntervalMs: 0, fs, settleMs: 0, ...over })

t.test('after a read, one changed record is the one file read again; a removed one is dropped', async t => {
  const stateDir = tempDir(t, 'nr-records-incr')
  for (let i = 0; i < 20; i++) writeRecord(stateDir, record(`c${i}`))
  const { fs, reads } = countingFs()
  const src = make(stateDir, fs)
  t.equal(src.read().records.length, 20)
  t.equal(reads.length, 20, 'the first read parses every file')

  reads.length = 0
  const unchanged = src.read()
  t.equal(reads.length, 0, 'nothing changed: no file read')
  t.equal(unchanged.records.length, 20)

  writeRecord(stateDir, record('c7', { attachments: [{ network: 'b', ifname: 'eth0', conf: { name: 'b' } as never }] }))
  const v = src.read()
  t.same(reads, ['c7@eth0.json'], 'the rewritten record is the one file read')
  t.same(src.attachmentsOf('default', 'c7'), [{ ifname: 'eth0', network: 'b' }], 'and its new content is used')
  t.equal(v.records.length, 20)
  t.equal(v.records.find((r) => r.containerId === 'c3'), unchanged.records.find((r) => r.containerId === 'c3'), 'unchanged records are the same parsed objects')

  // the shim only ever renames into the directory; an edit in place (same inode, the mtime
  // moved) is seen with the next change of the directory
  reads.length = 0
  const later = new Date(Date.now() + 5_000)
  utimesSync(recordPath(stateDir, 'c9', 'eth0'), later, later)
  writeRecord(stateDir, record('c20'))
  t.equal(src.read().records.length, 21)
  t.same(reads.sort(), ['c20@eth0.json', 'c9@eth0.json'])

  reads.length = 0
  removeRecord(stateDir, 'c4', 'eth0')
  const after = src.read()
  t.same(reads, [], 'a removal reads nothing')
  t.equal(after.records.length, 20)
  t.notOk(after.records.some((r) => r.containerId === 'c4'), 'the removed record is dropped')
  t.equal(src.attachmentsOf('default', 'c4'), undefined, 'and no longer attributes')
  t.match(src.stats, { filesRead: 23, filesDropped: 1, fileErrors: 0 })
  const names = after.records.map((r) => `${r.containerId}@${r.ifname}.json`)
  t.same(names, [...names].sort(), 'records stay in file-name order')
})

t.test('a corrupted record is a named, counted error; the others are still read; it is reported once per version', async t => {
  const stateDir = tempDir(t, 'nr-records-bad')
  writeRecord(stateDir, record('c1'))
  writeRecord(stateDir, record('c2'))
  const { fs, reads } = countingFs()
  const src = make(stateDir, fs)
  src.read()
  writeFileSync(recordPath(stateDir, 'c2', 'eth0'), '{"format":"netrank.io/attachment-record/v1", "containerId": "c2", "att') // torn by hand
  writeFileSync(join(recordDir(stateDir), 'junk@eth0.json'), JSON.stringify({ hello: 'world' }))
  reads.length = 0
  let v: ReturnType<AttachmentRecordsSource['read']> | undefined
  t.doesNotThrow(() => { v = src.read() }, 'a corrupted record never fails the read')
  t.same(reads.sort(), ['c2@eth0.json', 'junk@eth0.json'])
  t.same(v?.records.map((r) => r.containerId), ['c1'])
  t.same(v?.skipped, ['c2@eth0.json', 'junk@eth0.json'], 'named')
  t.match(v?.errors, [{ file: 'c2@eth0.json', error: /^not a record: .*JSON/ }, { file: 'junk@eth0.json', error: /not a netrank\.io\/attachment-record\/v1 record/ }])
  t.equal(src.stats.fileErrors, 2, 'counted')
  t.equal(src.attachmentsOf('default', 'c2'), undefined, 'its pod is not attributed from a broken record')
  t.same(src.takeNewErrors().map((e) => e.file), ['c2@eth0.json', 'junk@eth0.json'])
  reads.length = 0
  src.read()
  t.same(reads, [], 'a file that stays broken is not read again')
  t.same(src.takeNewErrors(), [], 'nor reported again')
  t.equal(src.stats.fileErrors, 2)
  writeRecord(stateDir, record('c2'))
  t.same(src.read().skipped, ['junk@eth0.json'], 'repaired: read again and used')
  t.same(src.attachmentsOf('default', 'c2'), [{ ifname: 'eth0', network: 'a' }])
})

t.test('files changed within the settle span are read again until it has passed; an unchanged, settled directory is not listed', async t => {
  const stateDir = tempDir(t, 'nr-records-settle')
  writeRecord(stateDir, record('c1'))
  writeRecord(stateDir, record('c2'))
  const { fs, reads } = countingFs()
  let wall = Date.now()
  const src = make(stateDir, fs, { settleMs: 2_000, wallClock: () => wall })
  src.read()
  reads.length = 0
  src.read()
  t.same(reads.sort(), ['c1@eth0.json', 'c2@eth0.json'], 'just written: not trusted yet')
  wall += 3_000
  reads.length = 0
  src.read()
  t.same(reads, [], 'settled: the stat identities are trusted')
  const past = new Date(Date.now() - 60_000)
  utimesSync(recordDir(stateDir), past, past)
  src.read() // notes the directory's new mtime
  const listed = src.stats.unchangedDir
  src.read()
  t.equal(src.stats.unchangedDir, listed + 1, 'a settled, unchanged directory is not even listed')
})

t.test('fresh reads every file; newEvents() of an unchanged view is empty without going through the records', async t => {
  const stateDir = tempDir(t, 'nr-records-fresh')
  writeRecord(stateDir, record('c1'))
  const { fs, reads } = countingFs()
  const src = make(stateDir, fs)
  t.equal(src.newEvents().length, 1)
  t.same(src.newEvents(), [])
  reads.length = 0
  src.read(true)
  t.same(reads, ['c1@eth0.json'])
  t.same(src.newEvents(), [], 'a fresh read of the same record: still counted once')
  writeRecord(stateDir, record('c2'))
  t.equal(src.newEvents().length, 1, 'a new record is an event')
})

t.test('the attribution index follows each changed file: two records of one pod in file-name order, a record moved to another pod, one of two removed, fresh', async t => {
  const stateDir = tempDir(t, 'nr-records-index')
  const pod = (name: string): AttachmentRecord['pod'] => ({ namespace: 'default', name, uid: '' })
  const att = (network: string, ifname: string): AttachmentRecord['attachments'][number] => ({ network, ifname, conf: { name: network } as never })
  writeRecord(stateDir, record('s2', { pod: pod('web'), attachments: [att('b', 'eth0')] }))
  writeRecord(stateDir, record('s1', { pod: pod('web'), attachments: [att('a', 'eth0'), att('c', 'net1')] }))
  writeRecord(stateDir, record('s3', { pod: pod('db') }))
  const { fs } = countingFs()
  const src = make(stateDir, fs)
  src.read()
  t.same(src.attachmentsOf('default', 'web'), [{ ifname: 'eth0', network: 'a' }, { ifname: 'net1', network: 'c' }, { ifname: 'eth0', network: 'b' }], 's1@… before s2@…')
  t.same(src.attachmentsOfContainer('s1'), [{ ifname: 'eth0', network: 'a' }, { ifname: 'net1', network: 'c' }])
  const db = src.attachmentsOf('default', 'db')

  writeRecord(stateDir, record('s1', { pod: pod('api'), attachments: [att('d', 'eth0')] }))
  src.read()
  t.same(src.attachmentsOf('default', 'web'), [{ ifname: 'eth0', network: 'b' }], 'the moved record left its old pod')
  t.same(src.attachmentsOf('default', 'api'), [{ ifname: 'eth0', network: 'd' }], 'and attributes its new one')
  t.same(src.attachmentsOfContainer('s1'), [{ ifname: 'eth0', network: 'd' }])
  t.equal(src.attachmentsOf('default', 'db'), db, 'an untouched pod keeps its refs')

  removeRecord(stateDir, 's2', 'eth0')
  src.read()
  t.equal(src.attachmentsOf('default', 'web'), undefined, 'its last record gone: not attributed')
  t.equal(src.attachmentsOfContainer('s2'), undefined)

  writeRecord(stateDir, record('s0', { pod: pod('api'), attachments: [att('e', 'eth0')] }))
  const v = src.read(true)
  t.same(src.attachmentsOf('default', 'api'), [{ ifname: 'eth0', network: 'e' }, { ifname: 'eth0', network: 'd' }], 'a new first file goes first')
  t.same(v.records.map((r) => r.containerId), ['s0', 's1', 's3'], 'records in file-name order after a fresh read')
  t.same(v.attachments.map((a) => a.network), ['e', 'd', 'a'])
})

t.test('a fresh read of a directory whose records are all gone is empty', async t => {
  const stateDir = tempDir(t, 'nr-records-fresh-empty')
  writeRecord(stateDir, record('c1'))
  const { fs } = countingFs()
  const src = make(stateDir, fs)
  t.equal(src.read().records.length, 1)
  removeRecord(stateDir, 'c1', 'eth0')
  const v = src.read(true)
  t.same([v.records.length, v.attachments.length], [0, 0])
  t.equal(src.attachmentsOf('default', 'c1'), undefined)
})
