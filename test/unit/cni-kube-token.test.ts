// The shim's token from a file (the agent mints and refreshes it): a 401 makes the client
// read the file again once and retry with a newer token; the same token refused again, or a
// file that does not exist yet, is code 11 (try again later) naming the file.
import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KubeClient, loadKubeconfig } from '../../cni/kube-client.js'

async function apiAccepting (t: Test, accepted: () => string) {
  const seen: string[] = []
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? ''
    seen.push(auth)
    if (auth !== `Bearer ${accepted()}`) { res.writeHead(401, { 'Content-Type': 'application/json' }); res.end('{"kind":"Status","code":401}'); return }
    res.writeHead(200, { 'Content-Type': 'application/json' })
    res.end('{"metadata":{"name":"p","uid":"u"}}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen }
}

function kubeconfig (dir: string, server: string, tokenFile: string): string {
  const path = join(dir, 'kubeconfig.json')
  writeFileSync(path, JSON.stringify({ 'current-context': 'c', contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }], clusters: [{ name: 'k', cluster: { server } }], users: [{ name: 'u', user: { tokenFile } }] }))
  return path
}

function stage (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'nr-token-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('a 401 after the agent refreshed the token: read again once, the request succeeds', async (t) => {
  const dir = stage(t)
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, 'old-token\n')
  let valid = 'old-token'
  const api = await apiAccepting(t, () => valid)
  const client = await KubeClient.create(await loadKubeconfig(kubeconfig(dir, api.url, tokenFile), { allowHttp: true }), { budgetMs: 2_000 })
  t.teardown(() => client.close())
  t.match(await client.getPod('default', 'p'), { metadata: { uid: 'u' } }, 'the first token works')
  // the agent mints a new token and the old one expires
  writeFileSync(tokenFile, 'new-token\n')
  valid = 'new-token'
  t.match(await client.getPod('default', 'p'), { metadata: { uid: 'u' } }, 'after one 401, with the token read again')
  t.same(api.seen, ['Bearer old-token', 'Bearer old-token', 'Bearer new-token'])
})

t.test('refused again, or the same token: code 11 naming the token file; no token file yet: code 11', async (t) => {
  const dir = stage(t)
  const tokenFile = join(dir, 'token')
  writeFileSync(tokenFile, 'stale')
  const api = await apiAccepting(t, () => 'something-else')
  const client = await KubeClient.create(await loadKubeconfig(kubeconfig(dir, api.url, tokenFile), { allowHttp: true }), { budgetMs: 2_000 })
  t.teardown(() => client.close())
  await t.rejects(client.getPod('default', 'p'), { name: 'CniError', cniCode: 11, message: new RegExp(`401 Unauthorized with the token of ${tokenFile} \\(read again: unchanged\\)`) })
  t.equal(api.seen.length, 1, 'not retried with the same token')
  writeFileSync(tokenFile, 'also-stale')
  await t.rejects(client.getPod('default', 'p'), { cniCode: 11, message: /read again: refused too/ })
  t.same(api.seen.slice(1), ['Bearer stale', 'Bearer also-stale'], 'one retry with the newer token, then given up')

  const missing = join(dir, 'not-yet')
  await t.rejects(loadKubeconfig(kubeconfig(dir, api.url, missing), { allowHttp: true }), { name: 'CniError', cniCode: 11, message: new RegExp(`the token file ${missing} .* does not exist yet: the netrank agent writes it`) })
  await t.rejects(loadKubeconfig(kubeconfig(dir, api.url, dir), { allowHttp: true }), { cniCode: 106, message: /tokenFile .* is unreadable/ }, 'a directory: the kubeconfig is wrong, code 106')
})
