// The shim's API client verifies the API server with Node's own TLS (OpenSSL) against the
// kubeconfig's CA: a wrong certificate is refused before any request byte (the bearer token)
// is sent; netrank verifies no certificate itself (its hand-written fast path, which accepted
// an "any purpose"-only leaf that OpenSSL rejects, is gone). Certificates are made with the
// openssl CLI.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { KubeClient, loadKubeconfig, type KubeCredentials } from '../../cni/kube-client.js'
import { tempDir } from '../support/netns.js'

interface Pem { cert: Buffer, key: Buffer, certPath: string, keyPath: string }

// One PKI for the whole file: EC P-256 unless `rsaBits` is given.
function makePki (dir: string): Record<string, Pem> {
  let serial = 1
  const ssl = (...args: string[]): void => { execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] }) }
  const load = (name: string): Pem => ({ cert: readFileSync(join(dir, `${name}.crt`)), key: readFileSync(join(dir, `${name}.key`)), certPath: join(dir, `${name}.crt`), keyPath: join(dir, `${name}.key`) })
  const newKey = (rsaBits?: number): string[] => rsaBits === undefined ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'] : ['-newkey', `rsa:${rsaBits}`, '-nodes']
  const caExt = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n'
  // self-signed through `x509 -req -signkey`, which (unlike `req -x509`) takes -days -1: an expired CA
  const ca = (name: string, days = '30'): Pem => {
    writeFileSync(join(dir, `${name}.ext`), caExt)
    ssl('req', ...newKey(), '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`)
    ssl('x509', '-req', '-in', `${name}.csr`, '-signkey', `${name}.key`, '-days', days, '-extfile', `${name}.ext`, '-out', `${name}.crt`)
    return load(name)
  }
  const leaf = (name: string, issuer: string, ext: string, opts: { days?: string, rsaBits?: number } = {}): Pem => {
    writeFileSync(join(dir, `${name}.ext`), ext)
    ssl('req', ...newKey(opts.rsaBits), '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`)
    ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${issuer}.crt`, '-CAkey', `${issuer}.key`, '-set_serial', String(serial++),
      '-days', opts.days ?? '30', '-extfile', `${name}.ext`, '-out', `${name}.crt`)
    return load(name)
  }
  const server = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n'
  const pki: Record<string, Pem> = {
    ca: ca('nr-ca'),
    other: ca('nr-other-ca'),
    expiredCa: ca('nr-expired-ca', '-1'),
    int: (() => { ca('nr-root'); return leaf('nr-int', 'nr-root', caExt) })(),
  }
  pki.root = load('nr-root')
  pki.server = leaf('server', 'nr-ca', server)
  pki.expired = leaf('expired', 'nr-ca', server, { days: '-1' })
  pki.otherName = leaf('other-name', 'nr-ca', 'subjectAltName=DNS:other.nr.test\nextendedKeyUsage=serverAuth\n')
  pki.named = leaf('named', 'nr-ca', 'subjectAltName=DNS:kube.nr.test\nextendedKeyUsage=serverAuth\n')
  pki.viaInt = leaf('via-int', 'nr-int', server)
  pki.clientOnly = leaf('client-only', 'nr-ca', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=clientAuth\n')
  pki.rsa = leaf('rsa', 'nr-ca', server, { rsaBits: 2048 })
  pki.byExpiredCa = leaf('by-expired-ca', 'nr-expired-ca', server)
  pki.unknownCritical = leaf('unknown-critical', 'nr-ca', `${server}1.3.6.1.4.1.55555.1=critical,ASN1:UTF8String:nr\n`)
  pki.unknownPlain = leaf('unknown-plain', 'nr-ca', `${server}1.3.6.1.4.1.55555.1=ASN1:UTF8String:nr\n`)
  pki.tlsKeyUsage = leaf('tls-key-usage', 'nr-ca', `${server}keyUsage=critical,digitalSignature\n`)
  writeFileSync(join(dir, 'nc.ext'), `${caExt}nameConstraints=critical,permitted;IP:127.0.0.0/255.0.0.0\n`)
  ssl('req', ...newKey(), '-keyout', 'nr-nc-ca.key', '-out', 'nr-nc-ca.csr', '-subj', '/CN=nr-nc-ca')
  ssl('x509', '-req', '-in', 'nr-nc-ca.csr', '-signkey', 'nr-nc-ca.key', '-days', '30', '-extfile', 'nc.ext', '-out', 'nr-nc-ca.crt')
  pki.ncCa = load('nr-nc-ca')
  pki.byNcCa = leaf('by-nc-ca', 'nr-nc-ca', server)
  writeFileSync(join(dir, 'eku.ext'), `${caExt}extendedKeyUsage=clientAuth\n`)
  ssl('req', ...newKey(), '-keyout', 'nr-eku-ca.key', '-out', 'nr-eku-ca.csr', '-subj', '/CN=nr-eku-ca')
  ssl('x509', '-req', '-in', 'nr-eku-ca.csr', '-signkey', 'nr-eku-ca.key', '-days', '30', '-extfile', 'eku.ext', '-out', 'nr-eku-ca.crt')
  pki.ekuCa = load('nr-eku-ca')
  pki.anyEku = leaf('any-eku', 'nr-ca', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=anyExtendedKeyUsage\nbasicConstraints=CA:FALSE\n')
  pki.byEkuCa = leaf('by-eku-ca', 'nr-eku-ca', server)
  return pki
}

const pki = makePki(tempDir(t, 'nr-tls-pki'))
// An HTTPS API stand-in for one test: counts connections and keeps the requests it got.
interface Api { url: string, connections: number, requests: Array<{ method: string, auth: string | undefined }> }
async function startApi (t: Test, cert: Pem, chain: Buffer[] = []): Promise<Api> {
  const api: Api = { url: '', connections: 0, requests: [] }
  const server: Server = createServer({ cert: Buffer.concat([cert.cert, ...chain]), key: cert.key }, (req, res) => {
    api.requests.push({ method: req.method ?? '', auth: req.headers.authorization })
    req.resume()
    req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"kind":"Pod","metadata":{"name":"p"}}') })
  })
  server.on('connection', () => { api.connections++ }) // TCP connections: a refused handshake never becomes a secureConnection
  server.on('tlsClientError', () => { /* the client refused our certificate: expected in some tests */ })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  api.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`
  t.teardown(() => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()) }))
  return api
}

function access (api: Api, ca: Buffer, extra: Partial<KubeCredentials> = {}): KubeCredentials {
  return { server: new URL(api.url), ca, token: 'nr-secret-token', insecureSkipTlsVerify: false, ...extra }
}

async function getPod (a: KubeCredentials): Promise<Record<string, unknown> | undefined> {
  const client = await KubeClient.create(a, { budgetMs: 3_000 })
  try {
    return await client.getPod('default', 'p')
  } finally {
    client.close()
  }
}

t.test('the right CA: accepted (one connection), the token sent', async (t) => {
  const api = await startApi(t, pki.server!)
  const pod = await getPod(access(api, pki.ca!.cert))
  t.equal((pod?.metadata as { name?: string } | undefined)?.name, 'p')
  t.equal(api.connections, 1)
  t.same(api.requests, [{ method: 'GET', auth: 'Bearer nr-secret-token' }])
})

t.test('GET and PATCH share one verified keep-alive connection', async (t) => {
  const api = await startApi(t, pki.server!)
  const client = await KubeClient.create(access(api, pki.ca!.cert), { budgetMs: 3_000 })
  t.teardown(() => client.close())
  await client.getPod('default', 'p')
  t.equal(await client.patchPodAnnotations('default', 'p', { a: 'b' }), 'patched')
  t.same(api.requests.map((r) => r.method), ['GET', 'PATCH'])
  t.equal(api.connections, 1)
})

const rejected: Array<[string, () => Pem, () => Buffer, RegExp]> = [
  ['a certificate from another CA', () => pki.server!, () => pki.other!.cert, /TLS failure/],
  ['a certificate for another host name', () => pki.otherName!, () => pki.ca!.cert, /TLS failure .*ALTNAME|TLS failure .*Hostname/],
  ['an expired certificate', () => pki.expired!, () => pki.ca!.cert, /TLS failure CERT_HAS_EXPIRED/],
  ['a certificate of an expired CA', () => pki.byExpiredCa!, () => pki.expiredCa!.cert, /TLS failure/],
  ['a client-only certificate (extendedKeyUsage clientAuth)', () => pki.clientOnly!, () => pki.ca!.cert, /TLS failure/],
  ['a leaf whose extended key usage is only "any purpose"', () => pki.anyEku!, () => pki.ca!.cert, /TLS failure/],
  ['a leaf of a CA limited to clientAuth', () => pki.byEkuCa!, () => pki.ekuCa!.cert, /TLS failure/],
  ['a leaf with an unknown critical extension', () => pki.unknownCritical!, () => pki.ca!.cert, /TLS failure/],
]
for (const [label, cert, ca, message] of rejected) {
  t.test(`${label} is rejected by Node's verification and no request is sent`, async (t) => {
    const api = await startApi(t, cert())
    await t.rejects(getPod(access(api, ca())), { name: 'CniError', code: 'NR_CNI_API_ERROR', cniCode: 114, message })
    t.same(api.requests, [], 'the stand-in saw no request (no token left the shim)')
    t.equal(api.connections, 1, 'one connection, refused in the handshake')
  })
}

const accepted: Array<[string, () => Pem, () => Buffer]> = [
  ['an RSA 2048 leaf', () => pki.rsa!, () => pki.ca!.cert],
  ['a leaf with keyUsage digitalSignature', () => pki.tlsKeyUsage!, () => pki.ca!.cert],
  ['a leaf with an unknown non-critical extension', () => pki.unknownPlain!, () => pki.ca!.cert],
  ['a leaf of a CA whose name constraints permit 127.0.0.0/8', () => pki.byNcCa!, () => pki.ncCa!.cert],
]
for (const [label, cert, ca] of accepted) {
  t.test(`${label} is accepted`, async (t) => {
    const api = await startApi(t, cert())
    t.ok(await getPod(access(api, ca())))
    t.same(api.requests, [{ method: 'GET', auth: 'Bearer nr-secret-token' }])
  })
}

t.test('a chain through an intermediate CA (the server sends the intermediate) is verified', async (t) => {
  const api = await startApi(t, pki.viaInt!, [pki.int!.cert])
  const pod = await getPod(access(api, pki.root!.cert))
  t.ok(pod !== undefined)
  t.equal(api.connections, 1)
  t.same(api.requests, [{ method: 'GET', auth: 'Bearer nr-secret-token' }])
})

t.test('tls-server-name: the certificate is checked against it, not the server address', async (t) => {
  const api = await startApi(t, pki.named!)
  t.ok(await getPod(access(api, pki.ca!.cert, { tlsServerName: 'kube.nr.test' })))
  t.equal(api.connections, 1)
  await t.rejects(getPod(access(api, pki.ca!.cert)), { code: 'NR_CNI_API_ERROR', message: /TLS failure/ }, 'without it the IP does not match')
  t.equal(api.requests.length, 1)
})

t.test('insecure-skip-tls-verify still accepts any certificate', async (t) => {
  const api = await startApi(t, pki.otherName!)
  t.ok(await getPod(access(api, pki.other!.cert, { insecureSkipTlsVerify: true })))
  t.equal(api.connections, 1)
})

t.test('a refused connection is a transient error, not a TLS verdict', async (t) => {
  const api = await startApi(t, pki.server!)
  const a = access(api, pki.ca!.cert)
  a.server = new URL('https://127.0.0.1:1')
  const client = await KubeClient.create(a, { budgetMs: 300, attemptTimeoutMs: 100 })
  t.teardown(() => client.close())
  await t.rejects(client.getPod('default', 'p'), { code: 'NR_CNI_API_UNAVAILABLE', cniCode: 11, message: /ECONNREFUSED/ })
})

t.test('the kubeconfig\'s tls-server-name is read; a non-string is a fix-it error', async (t) => {
  const dir = tempDir(t, 'nr-tls-kc')
  const kc = (cluster: Record<string, unknown>): string => {
    const file = join(dir, `kc-${Math.random().toString(36).slice(2)}.json`)
    writeFileSync(file, JSON.stringify({
      'current-context': 'c',
      contexts: [{ name: 'c', context: { cluster: 'k', user: 'u' } }],
      clusters: [{ name: 'k', cluster: { server: 'https://127.0.0.1:6443', 'certificate-authority': pki.ca!.certPath, ...cluster } }],
      users: [{ name: 'u', user: { token: 'x' } }],
    }))
    return file
  }
  t.equal((await loadKubeconfig(kc({ 'tls-server-name': 'kube.nr.test' }))).tlsServerName, 'kube.nr.test')
  t.equal((await loadKubeconfig(kc({}))).tlsServerName, undefined)
  await t.rejects(loadKubeconfig(kc({ 'tls-server-name': 7 })), { cniCode: 106, message: /"tls-server-name" must be a string/ })
})
