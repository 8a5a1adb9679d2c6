import t from 'tap'
import http from 'node:http'
import https from 'node:https'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { HttpClient, HttpFetchError } from '../../collectors/http-fetch.js'
import { generateStandInPki } from '../../lab/stand-ins/self-signed-cert.js'

// A local server on 127.0.0.1 with one route per behaviour under test.
async function startServer (t: { teardown: (fn: () => unknown) => void }): Promise<{ base: string, seen: Array<{ url: string, auth: string | undefined, socket: number }> }> {
  const seen: Array<{ url: string, auth: string | undefined, socket: number }> = []
  const sockets = new Map<object, number>()
  const server = http.createServer((req, res) => {
    let id = sockets.get(req.socket)
    if (id === undefined) { id = sockets.size + 1; sockets.set(req.socket, id) }
    seen.push({ url: req.url ?? '', auth: req.headers.authorization, socket: id })
    switch (req.url) {
      case '/ok': res.end('hello\n'); return
      case '/big': res.setHeader('content-length', String(5000)); res.end('x'.repeat(5000)); return
      case '/big-chunked': {
        // no content-length: the cap must hold while streaming
        let sent = 0
        const tick = (): void => {
          if (sent >= 100_000 || res.destroyed) { res.end(); return }
          res.write('y'.repeat(1000)); sent += 1000
          setImmediate(tick)
        }
        tick()
        return
      }
      case '/slow': res.write('partial'); return // never ends
      case '/hang': return // never answers
      case '/gzip': res.setHeader('content-encoding', 'gzip'); res.end(gzipSync('z'.repeat(10_000))); return
      case '/missing': res.statusCode = 404; res.end('no such thing'); return
      case '/redirect': res.statusCode = 302; res.setHeader('location', '/ok'); res.end(); return
      default: res.statusCode = 500; res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

async function failure (p: Promise<unknown>): Promise<HttpFetchError> {
  try {
    await p
  } catch (err) {
    if (err instanceof HttpFetchError) return err
    throw err
  }
  throw new Error('expected a failure')
}

t.test('a 2xx answer comes back as text, with the bearer token sent, over one kept-alive socket', async t => {
  const { base, seen } = await startServer(t)
  const c = new HttpClient({ bearerToken: 'tok-123\n', timeoutMs: 5000 })
  t.teardown(() => c.close())
  const a = await c.getText(`${base}/ok`)
  const b = await c.getText(`${base}/ok`)
  t.same([a.status, a.text, a.bytes], [200, 'hello\n', 6])
  t.equal(b.text, 'hello\n')
  t.same(seen.map((s) => s.auth), ['Bearer tok-123', 'Bearer tok-123'])
  t.equal(seen[0]?.socket, seen[1]?.socket, 'the second request reused the first socket')
})

t.test('a body past the cap is refused: by content-length, and while streaming without one', async t => {
  const { base } = await startServer(t)
  const c = new HttpClient({ maxBytes: 4096, timeoutMs: 5000 })
  t.teardown(() => c.close())
  const declared = await failure(c.getText(`${base}/big`))
  t.equal(declared.code, 'TOO_LARGE')
  t.match(declared.message, /declares 5000 bytes, cap is 4096/)
  const streamed = await failure(c.getText(`${base}/big-chunked`))
  t.equal(streamed.code, 'TOO_LARGE')
  t.match(streamed.message, /exceeds the cap of 4096 bytes/)
  const ok = await c.getText(`${base}/ok`)
  t.equal(ok.text, 'hello\n', 'the client still works afterwards')
})

t.test('the cap applies to the decompressed body', async t => {
  const { base } = await startServer(t)
  const small = new HttpClient({ maxBytes: 4096, timeoutMs: 5000 })
  const large = new HttpClient({ maxBytes: 20_000, timeoutMs: 5000 })
  t.teardown(() => { small.close(); large.close() })
  t.equal((await failure(small.getText(`${base}/gzip`))).code, 'TOO_LARGE')
  t.equal((await large.getText(`${base}/gzip`)).text, 'z'.repeat(10_000))
})

t.test('a server that never answers, or never finishes the body, hits the timeout', async t => {
  const { base } = await startServer(t)
  const c = new HttpClient({ timeoutMs: 200 })
  t.teardown(() => c.close())
  const hang = await failure(c.getText(`${base}/hang`))
  t.equal(hang.code, 'TIMEOUT')
  t.match(hang.message, /within 200 ms/)
  const slow = await failure(c.getText(`${base}/slow`))
  t.equal(slow.code, 'TIMEOUT')
})

t.test('non-2xx answers, redirects, refused connections and bad URLs are errors with a code', async t => {
  const { base } = await startServer(t)
  const c = new HttpClient({ timeoutMs: 5000 })
  t.teardown(() => c.close())
  const missing = await failure(c.getText(`${base}/missing`))
  t.same([missing.code, missing.status], ['HTTP_STATUS', 404])
  t.match(missing.message, /HTTP 404: no such thing/)
  t.equal((await failure(c.getText(`${base}/redirect`))).code, 'NETWORK', 'redirects are not followed (the token would follow)')
  // a port nobody listens on: bind one, close it, use it
  const probe = http.createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const port = (probe.address() as AddressInfo).port
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  t.equal((await failure(c.getText(`http://127.0.0.1:${port}/`))).code, 'NETWORK')
  t.equal((await failure(c.getText('not a url'))).code, 'BAD_URL')
  t.equal((await failure(c.getText('ftp://127.0.0.1/x'))).code, 'BAD_URL')
})

t.test('a streamed body can be consumed chunk by chunk', async t => {
  const { base } = await startServer(t)
  const c = new HttpClient({ maxBytes: 1_000_000, timeoutMs: 5000 })
  t.teardown(() => c.close())
  const r = await c.getStream(`${base}/big-chunked`)
  let bytes = 0
  for await (const chunk of r.body) bytes += chunk.length
  t.equal(bytes, 100_000)
})

t.test('https: the cluster CA given verifies the server; without it the self-signed server is refused', async t => {
  const dir = await mkdtemp(join(tmpdir(), 'nr-fetch-pki-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const pki = await generateStandInPki(dir, ['127.0.0.1'])
  const server = https.createServer({ cert: await readFile(pki.serverCertPath), key: await readFile(pki.serverKeyPath) }, (req, res) => {
    res.end(`auth=${req.headers.authorization ?? ''}`)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) }))
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/metrics/cadvisor`
  const withCa = new HttpClient({ ca: await readFile(pki.caPath), bearerToken: 'sa-token', timeoutMs: 5000 })
  const withoutCa = new HttpClient({ timeoutMs: 5000 })
  const insecure = new HttpClient({ insecureSkipTlsVerify: true, timeoutMs: 5000 })
  t.teardown(() => { withCa.close(); withoutCa.close(); insecure.close() })
  t.equal((await withCa.getText(url)).text, 'auth=Bearer sa-token')
  const refused = await failure(withoutCa.getText(url))
  t.equal(refused.code, 'NETWORK')
  t.match(refused.message, /certificate/)
  t.equal((await insecure.getText(url)).status, 200, 'only with the explicit opt-in')
})

t.test('bad options are refused', async t => {
  t.throws(() => new HttpClient({ timeoutMs: 0 }), /timeoutMs must be > 0/)
  t.throws(() => new HttpClient({ maxBytes: 1.5 }), /maxBytes must be an integer/)
})
