// The shim's fast TLS path (cni/tls-fast-verify.ts): a server certificate issued directly
// by the kubeconfig's CA is accepted without Node's root store; everything else goes to
// Node's full verification, which still rejects a wrong certificate before any request
// byte (the bearer token) is sent. Certificates are made with the openssl CLI.
import t, { type Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import * as tls from 'node:tls'
import { KubeClient, loadKubeconfig, type KubeCredentials } from '../../cni/kube-client.js'
import { certificateExtensions, makeConnector, parseCaBundle, signatureAlgorithmOid, verifyDirectlyIssued, type FastVerdict } from '../../cni/tls-fast-verify.js'
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
  pki.weakRsa = leaf('weak-rsa', 'nr-ca', server, { rsaBits: 1024 })
  pki.rsa = leaf('rsa', 'nr-ca', server, { rsaBits: 2048 })
  pki.byExpiredCa = leaf('by-expired-ca', 'nr-expired-ca', server)
  pki.unknownCritical = leaf('unknown-critical', 'nr-ca', `${server}1.3.6.1.4.1.55555.1=critical,ASN1:UTF8String:nr\n`)
  pki.unknownPlain = leaf('unknown-plain', 'nr-ca', `${server}1.3.6.1.4.1.55555.1=ASN1:UTF8String:nr\n`)
  pki.certSignOnly = leaf('cert-sign-only', 'nr-ca', `${server}keyUsage=critical,keyCertSign\n`)
  pki.tlsKeyUsage = leaf('tls-key-usage', 'nr-ca', `${server}keyUsage=critical,digitalSignature\n`)
  pki.nsType = leaf('ns-type', 'nr-ca', `${server}nsCertType=server\n`)
  writeFileSync(join(dir, 'nc.ext'), `${caExt}nameConstraints=critical,permitted;IP:127.0.0.0/255.0.0.0\n`)
  ssl('req', ...newKey(), '-keyout', 'nr-nc-ca.key', '-out', 'nr-nc-ca.csr', '-subj', '/CN=nr-nc-ca')
  ssl('x509', '-req', '-in', 'nr-nc-ca.csr', '-signkey', 'nr-nc-ca.key', '-days', '30', '-extfile', 'nc.ext', '-out', 'nr-nc-ca.crt')
  pki.ncCa = load('nr-nc-ca')
  pki.byNcCa = leaf('by-nc-ca', 'nr-nc-ca', server)
  writeFileSync(join(dir, 'eku.ext'), `${caExt}extendedKeyUsage=clientAuth\n`)
  ssl('req', ...newKey(), '-keyout', 'nr-eku-ca.key', '-out', 'nr-eku-ca.csr', '-subj', '/CN=nr-eku-ca')
  ssl('x509', '-req', '-in', 'nr-eku-ca.csr', '-signkey', 'nr-eku-ca.key', '-days', '30', '-extfile', 'eku.ext', '-out', 'nr-eku-ca.crt')
  pki.ekuCa = load('nr-eku-ca')
  pki.byEkuCa = leaf('by-eku-ca', 'nr-eku-ca', server)
  return pki
}

const pki = makePki(tempDir(t, 'nr-tls-pki'))
const x509 = (p: Pem): X509Certificate => new X509Certificate(p.cert)
const ok = (): Error | undefined => undefined
const now = Date.now()

t.test('the fast check accepts only a certificate issued directly by a self-signed CA of the bundle', async (t) => {
  const cas = [x509(pki.ca!)]
  const cases: Array<[string, X509Certificate, X509Certificate[], FastVerdict | RegExp]> = [
    ['issued directly (EC)', x509(pki.server!), cas, { ok: true }],
    ['issued directly (RSA 2048)', x509(pki.rsa!), cas, { ok: true }],
    ['the right CA later in a bundle', x509(pki.server!), [x509(pki.other!), x509(pki.ca!)], { ok: true }],
    ['another CA', x509(pki.server!), [x509(pki.other!)], /not issued directly/],
    ['an intermediate in between', x509(pki.viaInt!), [x509(pki.root!)], /not issued directly/],
    ['a non-self-signed issuer (an intermediate given as the CA)', x509(pki.viaInt!), [x509(pki.int!)], /not self-signed/],
    ['an expired server certificate', x509(pki.expired!), cas, /server certificate is outside its validity/],
    ['an expired CA', x509(pki.byExpiredCa!), [x509(pki.expiredCa!)], /CA certificate is outside its validity/],
    ['extendedKeyUsage clientAuth only', x509(pki.clientOnly!), cas, /serverAuth/],
    ['an RSA key under 2048 bits', x509(pki.weakRsa!), cas, /key type or size/],
    ['a CA that is a leaf', x509(pki.server!), [x509(pki.expired!)], /not issued directly|not a CA/],
    ['an unknown critical extension', x509(pki.unknownCritical!), cas, /critical extension 2b0601040183b20301 /],
    ['an unknown non-critical extension', x509(pki.unknownPlain!), cas, { ok: true }],
    ['keyUsage keyCertSign only', x509(pki.certSignOnly!), cas, /keyUsage does not allow a TLS server/],
    ['keyUsage digitalSignature', x509(pki.tlsKeyUsage!), cas, { ok: true }],
    ['a Netscape certificate type', x509(pki.nsType!), cas, /Netscape/],
    ['a CA with name constraints', x509(pki.byNcCa!), [x509(pki.ncCa!)], /name or policy constraints/],
    ['a CA whose extendedKeyUsage excludes serverAuth', x509(pki.byEkuCa!), [x509(pki.ekuCa!)], /serverAuth/],
  ]
  for (const [label, peer, bundle, want] of cases) {
    const got = verifyDirectlyIssued(peer, bundle, now, ok)
    if (want instanceof RegExp) {
      t.equal(got.ok, false, label)
      t.match(got.ok ? '' : got.why, want, label)
    } else t.same(got, want, label)
  }
})

t.test('the fast check passes the identity verdict through and checks it last', async (t) => {
  let asked = 0
  const verdict = verifyDirectlyIssued(x509(pki.server!), [x509(pki.ca!)], now, () => { asked++; return new Error('Hostname/IP does not match') })
  t.same(verdict, { ok: false, why: 'Hostname/IP does not match' })
  t.equal(asked, 1)
  verifyDirectlyIssued(x509(pki.server!), [x509(pki.other!)], now, () => { asked++; return undefined })
  t.equal(asked, 1, 'not asked when the issuer is already wrong')
})

t.test('the signature algorithm is read from the certificate DER; garbage reads as unknown', async (t) => {
  t.equal(signatureAlgorithmOid(x509(pki.server!).raw), '2a8648ce3d040302', 'ecdsa-with-SHA256')
  t.equal(signatureAlgorithmOid(x509(pki.ca!).raw), '2a8648ce3d040302')
  for (const bad of [Buffer.alloc(0), Buffer.from([0x30]), Buffer.from([0x30, 0x85, 1, 1, 1, 1, 1]), Buffer.from('not a certificate'), x509(pki.server!).raw.subarray(0, 40)]) {
    t.equal(signatureAlgorithmOid(bad), undefined, bad.toString('hex').slice(0, 20))
  }
})

t.test('certificate extensions are read from the DER with their criticality; garbage reads as unreadable', async (t) => {
  const exts = certificateExtensions(x509(pki.unknownCritical!).raw) ?? []
  t.same(exts.map((e) => [e.oid, e.critical]), [['551d11', false], ['551d25', false], ['551d13', false], ['2b0601040183b20301', true], ['551d0e', false], ['551d23', false]])
  t.same(certificateExtensions(x509(pki.ca!).raw)?.filter((e) => e.critical).map((e) => e.oid), ['551d13', '551d0f'])
  for (const bad of [Buffer.alloc(0), Buffer.from('garbage'), x509(pki.server!).raw.subarray(0, 100)]) t.equal(certificateExtensions(bad), undefined)
})

t.test('a CA bundle yields each certificate; other PEM blocks and broken ones are left out', async (t) => {
  const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n'
  const bundle = Buffer.concat([pki.ca!.cert, Buffer.from(broken), pki.other!.key, pki.other!.cert])
  t.same(parseCaBundle(bundle, X509Certificate).map((c) => c.subject), ['CN=nr-ca', 'CN=nr-other-ca'])
  t.same(parseCaBundle(Buffer.from('nothing here'), X509Certificate), [])
})

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

t.test('the right CA: accepted on the fast path (one connection), the token sent', async (t) => {
  const api = await startApi(t, pki.server!)
  const pod = await getPod(access(api, pki.ca!.cert))
  t.equal((pod?.metadata as { name?: string } | undefined)?.name, 'p')
  t.equal(api.connections, 1, 'no second connection: the fast path accepted')
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
]
for (const [label, cert, ca, message] of rejected) {
  t.test(`${label} is rejected by Node's full verification and no request is sent`, async (t) => {
    const api = await startApi(t, cert())
    await t.rejects(getPod(access(api, ca())), { name: 'CniError', code: 'NR_CNI_API_ERROR', cniCode: 114, message })
    t.same(api.requests, [], 'the stand-in saw no request (no token left the shim)')
    t.equal(api.connections, 2, 'the fast attempt, then the full verification')
  })
}

t.test('a chain through an intermediate CA falls back to the full verification and works', async (t) => {
  const api = await startApi(t, pki.viaInt!, [pki.int!.cert])
  const verdicts: FastVerdict[] = []
  const pod = await getPod(access(api, pki.root!.cert))
  t.ok(pod !== undefined)
  t.equal(api.connections, 2, 'fast attempt refused, full verification accepted')
  t.same(api.requests, [{ method: 'GET', auth: 'Bearer nr-secret-token' }], 'one request, on the verified connection')
  // the same through the connector directly: its verdict names why
  const c = makeConnector({ tls, X509Certificate }, pki.root!.cert, (v) => verdicts.push(v))
  await new Promise<void>((resolve, reject) => {
    c.createConnection({ host: '127.0.0.1', port: Number(new URL(api.url).port), servername: '' }, (err, s) => { s.destroy(); if (err !== null) reject(err); else resolve() })
  })
  t.same(verdicts, [{ ok: false, why: 'not issued directly by the kubeconfig CA' }])
})

t.test('tls-server-name: the certificate is checked against it, not the server address', async (t) => {
  const api = await startApi(t, pki.named!)
  t.ok(await getPod(access(api, pki.ca!.cert, { tlsServerName: 'kube.nr.test' })))
  t.equal(api.connections, 1, 'fast path')
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
