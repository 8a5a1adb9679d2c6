// Shim failure lines: one JSON line per failed CNI ADD, appended by the shim to a small
// file in its stateDir, read by the agent into netrank_shim_add_failures_total (a failed
// ADD removes its attachment record, so nothing else tells the agent about it).
//
// Format (docs/contract.md#shim-failure-lines):
//   path:   <stateDir>/failures.jsonl, rotated to failures.jsonl.1 (replacing it) by the
//           writer once it holds FAILURE_FILE_MAX_BYTES or more: two small files at most.
//   line:   {"format":"netrank.io/shim-failure/v1","time":"<RFC 3339>","command":"ADD",
//           "code":<CNI code>,"error":"<NR_CNI_… registry name>","containerId":"…",
//           "namespace":"…","pod":"…"}  (namespace and pod only when CNI_ARGS named them)
//   write:  one appendFileSync of the whole line (one write(2) on an O_APPEND file: lines of
//           concurrent shims do not interleave), mode 0600, never failing the operation.
// A reader takes complete lines only (a line without its '\n' is still being written, or
// torn by a crash) and counts lines it cannot parse instead of failing on them.
import { appendFileSync, chmodSync, mkdirSync, renameSync, statSync } from 'node:fs'
import { join } from 'node:path'

/** The line format tag. */
export const FAILURE_FORMAT = 'netrank.io/shim-failure/v1'
/** The file's name in stateDir; the rotated one is `${FAILURE_FILE}.1`. */
export const FAILURE_FILE = 'failures.jsonl'
/** 64 KiB (~300 lines), then `.1`: the agent reads every few seconds, so this is hours of failures. */
export const FAILURE_FILE_MAX_BYTES = 64 * 1024
const FAILURE_MODE = 0o600
// a line longer than this is not ours (and would make a reader buffer without bound)
const MAX_LINE_BYTES = 2048
const ERROR_NAME = /^NR_CNI_[A-Z0-9_]{1,60}$/

/** One failed operation. */
export interface ShimFailure {
  format: typeof FAILURE_FORMAT
  /** when it failed, RFC 3339 */
  time: string
  /** the CNI verb (only ADD is written today) */
  command: 'ADD'
  /** the CNI error code the shim answered */
  code: number
  /** the shim's registry name (contract/cni-errors.ts) */
  error: string
  containerId: string
  namespace?: string
  pod?: string
}

/** The failure file of a stateDir. */
export function failureFilePath (stateDir: string): string {
  return join(stateDir, FAILURE_FILE)
}

/** One line, newline included. Over-long ids are cut (a line stays well under MAX_LINE_BYTES). */
export function formatFailureLine (f: Omit<ShimFailure, 'format'>): string {
  const cut = (s: string): string => s.length > 253 ? s.slice(0, 253) : s
  const line: ShimFailure = { format: FAILURE_FORMAT, time: f.time, command: f.command, code: f.code, error: f.error, containerId: cut(f.containerId) }
  if (f.namespace !== undefined && f.namespace !== '') line.namespace = cut(f.namespace)
  if (f.pod !== undefined && f.pod !== '') line.pod = cut(f.pod)
  return JSON.stringify(line) + '\n'
}

/** Parses one line (without its '\n'); undefined when it is not a failure line of this format. */
export function parseFailureLine (text: string): ShimFailure | undefined {
  if (text.length > MAX_LINE_BYTES) return undefined
  let v: unknown
  try {
    v = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined
  const r = v as Record<string, unknown>
  if (r.format !== FAILURE_FORMAT || r.command !== 'ADD') return undefined
  if (typeof r.time !== 'string' || !Number.isFinite(Date.parse(r.time))) return undefined
  if (typeof r.code !== 'number' || !Number.isInteger(r.code) || r.code < 0 || r.code > 999) return undefined
  if (typeof r.error !== 'string' || !ERROR_NAME.test(r.error)) return undefined
  if (typeof r.containerId !== 'string') return undefined
  if (r.namespace !== undefined && typeof r.namespace !== 'string') return undefined
  if (r.pod !== undefined && typeof r.pod !== 'string') return undefined
  const out: ShimFailure = { format: FAILURE_FORMAT, time: r.time, command: 'ADD', code: r.code, error: r.error, containerId: r.containerId }
  if (typeof r.namespace === 'string') out.namespace = r.namespace
  if (typeof r.pod === 'string') out.pod = r.pod
  return out
}

/** The complete lines of a chunk (up to its last '\n'; the rest is a line still being written): the failures, and how many lines were bad. */
export function parseFailureChunk (text: string): { failures: ShimFailure[], bad: number } {
  const end = text.lastIndexOf('\n')
  if (end < 0) return { failures: [], bad: 0 }
  const failures: ShimFailure[] = []
  let bad = 0
  for (const line of text.slice(0, end).split('\n')) {
    if (line.trim() === '') continue
    const f = parseFailureLine(line)
    if (f === undefined) bad++
    else failures.push(f)
  }
  return { failures, bad }
}

/**
 * Appends one failure line to `<stateDir>/failures.jsonl`, rotating a full file first.
 * Synchronous (the shim exits right after) and never throws: a failure that cannot be
 * recorded must not change what the runtime is told. Returns whether the line was written.
 */
export function appendFailure (stateDir: string, f: Omit<ShimFailure, 'format'>, maxBytes = FAILURE_FILE_MAX_BYTES): boolean {
  const file = failureFilePath(stateDir)
  const line = formatFailureLine(f)
  try {
    try {
      const st = statSync(file)
      if (st.size >= maxBytes) renameSync(file, `${file}.1`)
      else if ((st.mode & 0o777) !== FAILURE_MODE) chmodSync(file, FAILURE_MODE)
    } catch {
      // missing: created below
    }
    try {
      appendFileSync(file, line, { mode: FAILURE_MODE })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return false
      mkdirSync(stateDir, { recursive: true, mode: 0o700 })
      appendFileSync(file, line, { mode: FAILURE_MODE })
    }
    return true
  } catch {
    return false
  }
}
