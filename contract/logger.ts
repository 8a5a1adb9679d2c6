// The one log call shape of netrank: pino's `log.<level>(fields, message)`, errors passed as
// `{ err }` (pino's serializer, and the shim's, keep the stack). The agent logs through
// fastify's pino; the shim through its synchronous file logger (cni/log.ts); collectors
// and the audit log take any Logger.

/** One level: structured fields first, then the message. */
export type LogMethod = (fields: Record<string, unknown>, msg: string) => void

/** A logger with pino's call shape. */
export interface Logger {
  debug: LogMethod
  info: LogMethod
  warn: LogMethod
  error: LogMethod
}
