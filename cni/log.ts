// The shim's log: JSON lines appended to the conf's logFile. The shim lives for one
// CNI operation, so writes are synchronous (no lost lines on process.exit) and a log
// that cannot be written never fails the operation. Lines logged before the conf is
// parsed are kept in memory and flushed once the log file is known.
//
// The file is 0600 (it names pods, containers and errors of every pod on the node) and
// rotated by size: the first write of a shim run looks at it once — at `maxBytes` or more
// it becomes `<file>.1` (replacing the previous one) and a new file starts; a file made
// wider than 0600 by hand or by an older version is narrowed.
import { appendFileSync, chmodSync, mkdirSync, renameSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import type { Logger } from '../contract/logger.js'

/** Log levels, lowest first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const
/** One of LOG_LEVELS. */
export type LogLevel = typeof LOG_LEVELS[number]

/** 10 MiB, then `<file>.1`: two files of at most ~10 MiB each on the node. */
export const LOG_MAX_BYTES = 10 * 1024 * 1024
const LOG_MODE = 0o600

interface Sink { file: string | undefined, level: number, pending: string[], context: Record<string, unknown>, maxBytes: number, checked: boolean }
const sink: Sink = { file: undefined, level: 1, pending: [], context: {}, maxBytes: LOG_MAX_BYTES, checked: false }

// Once per shim run, before its first line: rotate a full file, narrow a wide one.
function checkFile (file: string): void {
  sink.checked = true
  try {
    const st = statSync(file)
    if (st.size >= sink.maxBytes) renameSync(file, `${file}.1`)
    else if ((st.mode & 0o777) !== LOG_MODE) chmodSync(file, LOG_MODE)
  } catch {
    // missing (created below with LOG_MODE) or not ours to change: logging goes on
  }
}

function write (line: string): void {
  if (sink.file === undefined) {
    // bounded: a shim that never learns its log file must not grow without limit
    if (sink.pending.length < 200) sink.pending.push(line)
    return
  }
  if (!sink.checked) checkFile(sink.file)
  try {
    appendFileSync(sink.file, line, { mode: LOG_MODE })
  } catch (err) {
    // the directory is created only when missing (not on every start: the shim runs per pod operation)
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return
    try {
      mkdirSync(dirname(sink.file), { recursive: true, mode: 0o700 })
      appendFileSync(sink.file, line, { mode: LOG_MODE })
    } catch {
      // an unwritable log must not fail a pod's network setup
    }
  }
}

/** Points the log at `file` (its directory is created on the first write that needs it) and flushes the lines kept so far. */
export function configureLog (file: string, level: LogLevel, context: Record<string, unknown>, maxBytes = LOG_MAX_BYTES): void {
  sink.level = LOG_LEVELS.indexOf(level)
  sink.context = context
  sink.maxBytes = maxBytes
  sink.checked = sink.file === file && sink.checked
  sink.file = file
  const pending = sink.pending
  sink.pending = []
  for (const line of pending) write(line)
}

/** Adds fields (container id, command…) to every later line. */
export function addLogContext (fields: Record<string, unknown>): void {
  Object.assign(sink.context, fields)
}

/** Lines that were logged before configureLog (for a crash before the conf is known). */
export function pendingLogLines (): readonly string[] {
  return sink.pending
}

function emit (level: LogLevel, fields: Record<string, unknown>, msg: string): void {
  if (LOG_LEVELS.indexOf(level) < sink.level) return
  const entry = { time: new Date().toISOString(), level, pid: process.pid, msg, ...sink.context, ...fields }
  write(JSON.stringify(entry, errorReplacer) + '\n')
}

/**
 * The shim's log, pino's call shape (contract/logger.ts): `log.warn({ err }, 'msg')` appends
 * one JSON line `{time, level, pid, msg, ...context, ...fields}`; an Error keeps its stack.
 */
export const log: Logger = Object.freeze({
  debug: (fields: Record<string, unknown>, msg: string) => { emit('debug', fields, msg) },
  info: (fields: Record<string, unknown>, msg: string) => { emit('info', fields, msg) },
  warn: (fields: Record<string, unknown>, msg: string) => { emit('warn', fields, msg) },
  error: (fields: Record<string, unknown>, msg: string) => { emit('error', fields, msg) },
})

function errorReplacer (_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack }
  return value
}
