import { mkdtemp, readdir, readFile, rm, writeFile, appendFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { AuditLog } from '../../agent/audit-log.js'
import type { DecisionRecord } from '../../contract/decision-record.js'

const T0 = Date.parse('2026-01-01T00:00:00Z')

function rec (seq: number, plugin = 'bridge-a', atMs = T0 + seq * 1000): DecisionRecord {
  return {
    seq,
    decisionId: `n1-${seq}`,
    at: new Date(atMs).toISOString(),
    namespace: 'ns',
    pod: `pod-${seq}`,
    podUid: null,
    containerId: `c-${seq}`,
    ifname: 'eth0',
    profile: 'balanced',
    plugin,
    reason: 'smart',
    scores: { 'bridge-a': 0.9, 'bridge-b': 0.5 },
  }
}

async function tempDir (t: Test): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nr-audit-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

const opts = (dir: string, maxFileBytes = 1 << 20, maxFiles = 4) => ({ dir, maxFileBytes, maxFiles })

t.test('an appended decision is in the file as one JSON line as soon as append resolves', async t => {
  const dir = await tempDir(t)
  const log = await AuditLog.open(opts(dir))
  await log.append(rec(1))
  // read synchronously right after: nothing may still sit in a buffer
  const text = readFileSync(join(dir, 'audit-0001.jsonl'), 'utf8')
  t.equal(text.split('\n').length, 2, 'one line and the final newline')
  t.same(JSON.parse(text.split('\n')[0] ?? ''), rec(1))
  await log.close()
})

t.test('concurrent appends share writes but each resolves, all land in order', async t => {
  const dir = await tempDir(t)
  const log = await AuditLog.open(opts(dir))
  await Promise.all(Array.from({ length: 50 }, (_, i) => log.append(rec(i + 1))))
  const lines = (await readFile(join(dir, 'audit-0001.jsonl'), 'utf8')).trim().split('\n')
  t.equal(lines.length, 50)
  t.same(lines.map((l) => (JSON.parse(l) as DecisionRecord).seq), Array.from({ length: 50 }, (_, i) => i + 1))
  t.equal(log.lastSeq, 50)
  await log.close()
})

t.test('a reopened log reads every decision back, across files', async t => {
  const dir = await tempDir(t)
  const log = await AuditLog.open(opts(dir, 4096, 10))
  for (let i = 1; i <= 40; i++) await log.append(rec(i, i % 2 === 0 ? 'bridge-a' : 'bridge-b'))
  await log.close()
  t.ok((await readdir(dir)).length > 1, 'the log rotated at least once')
  const again = await AuditLog.open(opts(dir, 4096, 10))
  t.equal(again.records().length, 40)
  t.equal(again.lastSeq, 40)
  t.same(again.records()[39], rec(40, 'bridge-a'))
  t.equal(again.skippedLines, 0)
  await again.close()
})

t.test('rotation by size keeps at most maxFiles files and forgets the decisions of deleted ones', async t => {
  const dir = await tempDir(t)
  const log = await AuditLog.open(opts(dir, 4096, 2))
  for (let i = 1; i <= 100; i++) await log.append(rec(i))
  const files = (await readdir(dir)).sort()
  t.equal(files.length, 2, `kept ${files.join(', ')}`)
  for (const f of files) {
    const size = (await readFile(join(dir, f))).length
    t.ok(size <= 4096, `${f} is ${size} bytes, within maxFileBytes`)
  }
  t.match(files[0], /^audit-\d{4}\.jsonl$/)
  t.not(files[0], 'audit-0001.jsonl', 'the oldest file was deleted')
  const kept = log.records()
  t.equal(kept.at(-1)?.seq, 100, 'the newest decision is kept')
  t.ok(kept.length < 100, 'decisions of the deleted files are gone from memory too')
  // memory agrees with disk
  const onDisk = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('').trim().split('\n').length
  t.equal(kept.length, onDisk)
  await log.close()
})

t.test('a torn last line after a crash is skipped, counted and cut off so the next append is clean', async t => {
  const dir = await tempDir(t)
  const log = await AuditLog.open(opts(dir))
  await log.append(rec(1))
  await log.append(rec(2))
  await log.close()
  const file = join(dir, 'audit-0001.jsonl')
  await appendFile(file, '{"seq":3,"decisionId":"n1-3","at":"2026-01-0') // the crash
  const messages: string[] = []
  const again = await AuditLog.open({ ...opts(dir), log: { info: () => {}, warn: (_fields, m) => { messages.push(m) } } })
  t.equal(again.records().length, 2)
  t.equal(again.skippedLines, 1)
  t.match(messages.join('\n'), /torn last line/)
  await again.append(rec(3))
  await again.close()
  const third = await AuditLog.open(opts(dir))
  t.same(third.records().map((r) => r.seq), [1, 2, 3], 'the new line is whole and readable')
  t.equal(third.skippedLines, 0)
  await third.close()
})

t.test('a corrupt complete line in the middle is skipped and counted, the rest is read', async t => {
  const dir = await tempDir(t)
  const lines = [JSON.stringify(rec(1)), 'not json at all', JSON.stringify({ seq: 'x' }), JSON.stringify(rec(2))]
  await writeFile(join(dir, 'audit-0001.jsonl'), `${lines.join('\n')}\n`)
  const log = await AuditLog.open(opts(dir))
  t.same(log.records().map((r) => r.seq), [1, 2])
  t.equal(log.skippedLines, 2)
  await log.close()
})

t.test('pages go oldest first from a cursor and say whether more follow', async t => {
  const dir = await tempDir(t)
  const log = await AuditLog.open(opts(dir))
  for (let i = 1; i <= 7; i++) await log.append(rec(i))
  const cases: Array<[number, number, number[], boolean]> = [
    [0, 3, [1, 2, 3], true],
    [3, 3, [4, 5, 6], true],
    [6, 3, [7], false],
    [7, 3, [], false],
    [100, 3, [], false],
  ]
  for (const [since, limit, seqs, more] of cases) {
    const p = log.page(since, limit)
    t.same(p.decisions.map((d) => d.seq), seqs, `since=${since} limit=${limit}`)
    t.equal(p.more, more)
  }
  t.same(log.since(T0 + 5000).map((d) => d.seq), [5, 6, 7], 'since(ms) returns the decisions at or after that time')
  await log.close()
})

t.test('append on a closed log is rejected, not silently dropped', async t => {
  const dir = await tempDir(t)
  const log = await AuditLog.open(opts(dir))
  await log.close()
  t.notOk(log.isOpen)
  await t.rejects(log.append(rec(1)), /closed/)
})

t.test('answered once written to the OS: the fdatasync follows in the background within syncIntervalMs, and at close', async t => {
  const dir = await tempDir(t)
  const log = await AuditLog.open({ ...opts(dir), syncIntervalMs: 30 })
  await log.append(rec(1))
  t.ok(log.unsyncedBytes > 0, `append resolved before the sync: ${log.unsyncedBytes} bytes written, not yet synced`)
  t.match(readFileSync(join(dir, 'audit-0001.jsonl'), 'utf8'), /"decisionId":"n1-1"/, 'but already in the file (the kernel holds it past a SIGKILL)')
  // the background sync: polled, a bound and not a timing assertion
  for (let i = 0; i < 200 && log.unsyncedBytes > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.equal(log.unsyncedBytes, 0, 'synced in the background')
  t.equal(log.syncFailures, 0)
  // a long interval: close() makes the last writes durable itself
  const slow = await AuditLog.open({ dir: await tempDir(t), maxFileBytes: 1 << 20, maxFiles: 4, syncIntervalMs: 60_000 })
  await slow.append(rec(1))
  await slow.append(rec(2))
  t.ok(slow.unsyncedBytes > 0)
  await slow.close()
  t.equal(slow.unsyncedBytes, 0, 'close() synced what the timer had not')
  await log.close()
})

t.test('rotation syncs the old file before it is closed', async t => {
  const dir = await tempDir(t)
  const log = await AuditLog.open({ dir, maxFileBytes: 400, maxFiles: 4, syncIntervalMs: 60_000 })
  for (let i = 1; i <= 4; i++) await log.append(rec(i))
  t.ok((await readdir(dir)).filter((f) => f.startsWith('audit-')).length >= 2, 'rotated')
  t.ok(log.unsyncedBytes < 400, `only the newest file's bytes wait for a sync (${log.unsyncedBytes})`)
  await log.close()
  t.equal(log.unsyncedBytes, 0)
})
