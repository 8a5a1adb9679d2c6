// One JSON POST to the agent, over TCP (selector.url) or its unix socket (agent.socket),
// bounded in time and size; resolves (never rejects) with the parsed answer or why there is
// none. The answer's shape is the caller's to check.
import type { IncomingMessage } from 'node:http'
import { createConnection } from 'node:net'
import type { SelectFailure } from '../contract/select-api.js'

/** Where the agent is: an http(s) base URL, or a unix socket path. */
export type AgentTarget = { url: string } | { socketPath: string }

/** The parsed JSON body of a 2xx answer, or why there is none. */
export type PostOutcome = { ok: true, status: number, body: unknown } | { ok: false, why: SelectFailure, detail: string }

/** POSTs `body` as JSON to `path`; within about `timeoutMs`; answers past `maxBytes` are garbage. */
export async function postJson (target: AgentTarget, path: string, body: unknown, timeoutMs: number, maxBytes: number): Promise<PostOutcome> {
  let url: URL | undefined
  if ('url' in target) {
    try {
      url = new URL(path, target.url)
    } catch {
      return { ok: false, why: 'agent-error', detail: `bad selector url ${target.url}` }
    }
  }
  // loaded on demand: only pods that reach this point pay for node:http(s)
  const mod = url?.protocol === 'https:' ? await import('node:https') : await import('node:http')
  return await new Promise((resolve) => {
    let settled = false
    const done = (o: PostOutcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(o)
    }
    const payload = JSON.stringify(body)
    const options = {
      method: 'POST',
      agent: false as const,
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)), Accept: 'application/json' },
    }
    const onResponse = (res: IncomingMessage): void => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        // an answer is small: a flood is garbage, not something to buffer
        if (size > maxBytes) { done({ ok: false, why: 'agent-garbage', detail: `answer larger than ${maxBytes} bytes` }); req.destroy(); return }
        chunks.push(c)
      })
      res.on('error', (e) => done({ ok: false, why: 'agent-down', detail: e.message }))
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const status = res.statusCode ?? 0
        if (status < 200 || status >= 300) {
          done({ ok: false, why: 'agent-error', detail: `HTTP ${status} ${text.slice(0, 200)}` })
          return
        }
        try {
          done({ ok: true, status, body: JSON.parse(text) })
        } catch {
          done({ ok: false, why: 'agent-garbage', detail: `not JSON: ${text.slice(0, 100)}` })
        }
      })
    }
    // On the socket: our own connection, no http.Agent. An Agent derives a TLS server name
    // from the host for every request (net.isIP: compiling its IPv6 pattern costs ~11 ms, a
    // quarter of the agent path's ADD overhead), and there is nothing to pool in a shim run.
    const socketPath = 'socketPath' in target ? target.socketPath : ''
    const req = url !== undefined
      ? mod.request(url, options, onResponse)
      : mod.request({ method: options.method, headers: options.headers, path, host: 'localhost', createConnection: () => createConnection({ path: socketPath }) }, onResponse)
    const timer = setTimeout(() => {
      done({ ok: false, why: 'agent-timeout', detail: `no answer within ${timeoutMs} ms` })
      req.destroy()
    }, timeoutMs)
    req.on('error', (e) => done({ ok: false, why: 'agent-down', detail: `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`.trim() }))
    req.end(payload)
  })
}
