/** A small HTTP client for the CLI: talks to a running agent, turns its errors into messages. */

const TIMEOUT_MS = 5000 // 5 s: the agent answers in ms; longer means it is stuck

/** An answer the agent gave with an error status; the message carries its code. */
export class AgentHttpError extends Error {
  readonly status: number
  readonly code: string
  constructor (status: number, code: string, message: string) {
    super(`${code} (HTTP ${status}): ${message}`)
    this.name = 'AgentHttpError'
    this.status = status
    this.code = code
  }
}

async function call<T> (base: string, path: string, init: RequestInit): Promise<T> {
  const url = new URL(path, base.endsWith('/') ? base : `${base}/`)
  let res: Response
  try {
    res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) })
  } catch (err) {
    const cause = (err as { cause?: { code?: string, message?: string } }).cause
    throw new Error(`cannot reach the agent at ${base}: ${cause?.code ?? cause?.message ?? (err as Error).message} (is \`netrank agent\` running? --url sets the address)`)
  }
  const text = await res.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new Error(`the agent at ${base} answered ${path} with non-JSON (HTTP ${res.status}): ${text.slice(0, 200)}`)
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string, message?: string } }).error
    throw new AgentHttpError(res.status, e?.code ?? 'UNKNOWN', e?.message ?? text.slice(0, 200))
  }
  return body as T
}

export function agentGet<T> (base: string, path: string): Promise<T> {
  return call<T>(base, path, { method: 'GET' })
}

export function agentPost<T> (base: string, path: string, body: unknown): Promise<T> {
  return call<T>(base, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
}
