// Asking the netrank agent which network a pod should get (POST /v1/select) within
// selector.timeoutMs. The answer is never trusted blindly: anything but a well-formed
// {plugins, reason, decisionId} is "garbage" and the caller falls back.

import { validateSelectAnswer } from '../contract/select-api.js'
import type { SelectAnswer, SelectFailure, SelectRequest } from '../contract/select-api.js'

/** The largest /v1/select answer read (64 KiB; a real one is a few hundred bytes). */
export const MAX_ANSWER_BYTES = 64 * 1024

/** Either the answer or why there is none. */
export type SelectOutcome = { ok: true, answer: SelectAnswer } | { ok: false, why: SelectFailure, detail: string }

/** POSTs /v1/select; resolves (never rejects) within about `timeoutMs`. */
export async function selectNetwork (baseUrl: string, body: SelectRequest, timeoutMs: number): Promise<SelectOutcome> {
  // loaded on demand: only smart selection pays for node:http(s)
  const mod = baseUrl.startsWith('https:') ? await import('node:https') : await import('node:http')
  return await new Promise((resolve) => {
    let settled = false
    const done = (o: SelectOutcome): void => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      resolve(o)
    }
    let url: URL
    try {
      url = new URL('/v1/select', baseUrl)
    } catch {
      done({ ok: false, why: 'agent-error', detail: `bad selector url ${baseUrl}` })
      return
    }
    const payload = JSON.stringify(body)
    const req = mod.request(url, {
      method: 'POST',
      agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)), Accept: 'application/json' },
    }, (res) => {
      const chunks: Buffer[] = []
      let size = 0
      res.on('data', (c: Buffer) => {
        size += c.length
        // an answer is a few hundred bytes: a flood is garbage, not something to buffer
        if (size > MAX_ANSWER_BYTES) { done({ ok: false, why: 'agent-garbage', detail: `answer larger than ${MAX_ANSWER_BYTES} bytes` }); req.destroy(); return }
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
        let parsed: unknown
        try {
          parsed = JSON.parse(text)
        } catch {
          done({ ok: false, why: 'agent-garbage', detail: `not JSON: ${text.slice(0, 100)}` })
          return
        }
        const answer = validateSelectAnswer(parsed)
        if (answer === undefined) done({ ok: false, why: 'agent-garbage', detail: `unexpected shape: ${text.slice(0, 200)}` })
        else done({ ok: true, answer })
      })
    })
    const timer = setTimeout(() => {
      done({ ok: false, why: 'agent-timeout', detail: `no answer within ${timeoutMs} ms` })
      req.destroy()
    }, timeoutMs)
    req.on('error', (e) => done({ ok: false, why: 'agent-down', detail: `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`.trim() }))
    req.end(payload)
  })
}
