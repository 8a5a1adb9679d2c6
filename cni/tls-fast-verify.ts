// Fast TLS server verification for the shim's API client.
//
// Why: in Node 20 the first `ca` added to any TLS context makes Node parse its ~140
// bundled root certificates (25–45 ms on the CI machine), although our `ca` then replaces
// them; a context without `ca` loads them too. The shim is started once per pod operation,
// so this was the largest single cost of an ADD. A context with `ca: []` parses nothing.
//
// How: the connection is made with `ca: []` and `rejectUnauthorized: false`, and the
// socket is handed to the HTTP request only after `verifyDirectlyIssued` accepted the
// server: so no request byte (the bearer token!) is written before the check passed. The
// check covers only the simple, common case, conservatively:
//   - the server's certificate is signed directly by a certificate of the kubeconfig's CA
//     bundle (`checkIssued` + signature `verify`), and that CA is a self-signed CA
//     (basicConstraints CA, its own issuer and signature);
//   - both are within their validity period;
//   - the leaf's signature algorithm is SHA-256/384/512 with RSA or ECDSA, or EdDSA, and
//     both keys are RSA ≥ 2048 bits or EC/EdDSA (what OpenSSL's security level accepts);
//   - an extendedKeyUsage (leaf or CA), when present, allows serverAuth; a leaf keyUsage,
//     when present, allows a TLS server; no critical extension other than basicConstraints,
//     keyUsage, extendedKeyUsage and subjectAltName; no name or policy constraints in the CA;
//   - the host name or IP matches, by Node's own `tls.checkServerIdentity` against the
//     same name Node would use (`servername` from `tls-server-name`, else the host).
// Anything else (an intermediate in the chain, a mismatch, an odd algorithm) is not a
// verdict: the socket is destroyed and a second connection is made with Node's full
// verification (`ca` set, rejectUnauthorized), so a wrong certificate is still rejected
// by Node itself, never accepted here.
import type { X509Certificate } from 'node:crypto'
import type { Duplex } from 'node:stream'
import type * as Tls from 'node:tls'

/** The modules the connector needs, passed in so they are loaded only on the API path. */
export interface TlsModules {
  tls: typeof Tls
  X509Certificate: typeof X509Certificate
}

/** The result of the fast check: accepted, or why the full verification must decide. */
export type FastVerdict = { ok: true } | { ok: false, why: string }

// DER-encoded signature algorithm OIDs accepted by the fast path (hex of the OID's value)
const STRONG_SIGNATURE_OIDS = new Set([
  '2a864886f70d01010b', // sha256WithRSAEncryption
  '2a864886f70d01010c', // sha384WithRSAEncryption
  '2a864886f70d01010d', // sha512WithRSAEncryption
  '2a8648ce3d040302', // ecdsa-with-SHA256
  '2a8648ce3d040303', // ecdsa-with-SHA384
  '2a8648ce3d040304', // ecdsa-with-SHA512
  '2b6570', // Ed25519
  '2b6571', // Ed448
])
const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1'
const ANY_EXTENDED_KEY_USAGE_OID = '2.5.29.37.0'
const MIN_RSA_BITS = 2048
// extension OIDs (hex of the DER value)
const EXT = Object.freeze({
  basicConstraints: '551d13',
  keyUsage: '551d0f',
  extKeyUsage: '551d25',
  subjectAltName: '551d11',
  nameConstraints: '551d1e',
  policyMappings: '551d21',
  policyConstraints: '551d24',
  inhibitAnyPolicy: '551d36',
  netscapeCertType: '6086480186f8420101',
})
// critical extensions whose rules the fast check applies itself (or X509Certificate does)
const HANDLED_CRITICAL = new Set<string>([EXT.basicConstraints, EXT.keyUsage, EXT.extKeyUsage, EXT.subjectAltName])
// CA extensions that make OpenSSL check more than a direct signature (left to it)
const CA_CONSTRAINTS = new Set<string>([EXT.nameConstraints, EXT.policyMappings, EXT.policyConstraints, EXT.inhibitAnyPolicy])
// keyUsage bits OpenSSL's TLS-server purpose accepts: digitalSignature, keyEncipherment, keyAgreement
const TLS_KEY_USAGE_BITS = 0x80 | 0x20 | 0x08

interface Element { tag: number, start: number, end: number }

function element (der: Buffer, pos: number, limit: number): Element | undefined {
  const tag = der[pos]
  const first = der[pos + 1]
  if (tag === undefined || first === undefined) return undefined
  let length = first
  let start = pos + 2
  if (first >= 0x80) {
    const bytes = first & 0x7f
    if (bytes === 0 || bytes > 4) return undefined
    length = 0
    for (let i = 0; i < bytes; i++) {
      const b = der[start + i]
      if (b === undefined) return undefined
      length = length * 256 + b
    }
    start += bytes
  }
  const end = start + length
  return end > limit ? undefined : { tag, start, end }
}

function children (der: Buffer, parent: Element): Element[] | undefined {
  const out: Element[] = []
  for (let p = parent.start; p < parent.end;) {
    const e = element(der, p, parent.end)
    if (e === undefined) return undefined
    out.push(e)
    p = e.end
  }
  return out
}

// Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE { OID, params }, signature BIT STRING }
function certificateParts (der: Buffer): Element[] | undefined {
  const cert = element(der, 0, der.length)
  if (cert?.tag !== 0x30) return undefined
  const parts = children(der, cert)
  return parts !== undefined && parts.length === 3 && parts[0]?.tag === 0x30 && parts[1]?.tag === 0x30 ? parts : undefined
}

/** The hex value of the outer signatureAlgorithm OID of a DER certificate, or undefined when it cannot be read. */
export function signatureAlgorithmOid (der: Buffer): string | undefined {
  const alg = certificateParts(der)?.[1]
  const oid = alg === undefined ? undefined : element(der, alg.start, alg.end)
  return oid?.tag === 0x06 ? der.subarray(oid.start, oid.end).toString('hex') : undefined
}

/** One X.509v3 extension: its OID (hex of the DER value), criticality and extnValue content. */
export interface CertExtension { oid: string, critical: boolean, value: Buffer }

/** The extensions of a DER certificate ([] when it has none), or undefined when they cannot be read. */
export function certificateExtensions (der: Buffer): CertExtension[] | undefined {
  const tbs = certificateParts(der)?.[0]
  if (tbs === undefined) return undefined
  const fields = children(der, tbs)
  if (fields === undefined) return undefined
  const wrapper = fields.find((f) => f.tag === 0xa3) // [3] EXPLICIT Extensions
  if (wrapper === undefined) return []
  const list = element(der, wrapper.start, wrapper.end)
  const items = list?.tag === 0x30 ? children(der, list) : undefined
  if (items === undefined) return undefined
  const out: CertExtension[] = []
  for (const item of items) {
    // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const parts = item.tag === 0x30 ? children(der, item) : undefined
    const oid = parts?.[0]
    const value = parts?.[parts.length - 1]
    if (parts === undefined || oid?.tag !== 0x06 || value?.tag !== 0x04 || parts.length > 3) return undefined
    const flag = parts.length === 3 ? parts[1] : undefined
    if (flag !== undefined && flag.tag !== 0x01) return undefined
    out.push({ oid: der.subarray(oid.start, oid.end).toString('hex'), critical: flag !== undefined && der[flag.start] !== 0, value: der.subarray(value.start, value.end) })
  }
  return out
}

// Why OpenSSL might judge these extensions differently from the fast check (undefined: it would not).
function extensionConcern (peer: X509Certificate, issuer: X509Certificate): string | undefined {
  const leaf = certificateExtensions(peer.raw)
  const ca = certificateExtensions(issuer.raw)
  if (leaf === undefined || ca === undefined) return 'the certificate extensions are unreadable'
  if (ca.some((e) => CA_CONSTRAINTS.has(e.oid))) return 'the CA has name or policy constraints'
  const critical = [...leaf, ...ca].find((e) => e.critical && !HANDLED_CRITICAL.has(e.oid))
  if (critical !== undefined) return `critical extension ${critical.oid} is not on the fast path`
  if (leaf.some((e) => e.oid === EXT.netscapeCertType)) return 'a Netscape certificate type is not on the fast path'
  const ku = leaf.find((e) => e.oid === EXT.keyUsage)
  // extnValue holds a BIT STRING: 03 <len> <unused bits> <first byte: bits 0-7>
  if (ku !== undefined && (ku.value[0] !== 0x03 || ((ku.value[3] ?? 0) & TLS_KEY_USAGE_BITS) === 0)) return 'keyUsage does not allow a TLS server'
  return undefined
}

function allowsServerAuth (cert: X509Certificate): boolean {
  // X509Certificate.keyUsage is the extendedKeyUsage list (undefined when the extension is absent)
  const eku = cert.keyUsage as string[] | undefined
  return eku === undefined || eku.includes(SERVER_AUTH_OID) || eku.includes(ANY_EXTENDED_KEY_USAGE_OID)
}

function strongKey (cert: X509Certificate): boolean {
  const key = cert.publicKey
  switch (key.asymmetricKeyType) {
    case 'rsa': return (key.asymmetricKeyDetails?.modulusLength ?? 0) >= MIN_RSA_BITS
    case 'ec': case 'ed25519': case 'ed448': return true
    default: return false
  }
}

function withinValidity (cert: X509Certificate, nowMs: number): boolean {
  const from = Date.parse(cert.validFrom)
  const to = Date.parse(cert.validTo)
  return Number.isFinite(from) && Number.isFinite(to) && from <= nowMs && nowMs <= to
}

/** The certificates of a PEM bundle (non-certificate blocks are ignored; unparsable ones are left out). */
export function parseCaBundle (pem: Buffer, X509: typeof X509Certificate): X509Certificate[] {
  const out: X509Certificate[] = []
  for (const block of pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
    try {
      out.push(new X509(block))
    } catch {
      // a broken block: the full verification (which gets the whole bundle) reports it
    }
  }
  return out
}

/**
 * Accepts `peer` only when one of `cas` (a self-signed CA) issued it directly, both are
 * valid at `nowMs`, the algorithms are strong, and `checkIdentity` (Node's
 * tls.checkServerIdentity for the right name) passes. Otherwise says why, for the full
 * verification to decide.
 */
export function verifyDirectlyIssued (peer: X509Certificate, cas: readonly X509Certificate[], nowMs: number, checkIdentity: () => Error | undefined): FastVerdict {
  const issuer = cas.find((ca) => peer.checkIssued(ca))
  if (issuer === undefined) return { ok: false, why: 'not issued directly by the kubeconfig CA' }
  if (!issuer.ca) return { ok: false, why: 'the issuer is not a CA certificate' }
  if (!issuer.checkIssued(issuer) || !issuer.verify(issuer.publicKey)) return { ok: false, why: 'the CA is not self-signed' }
  if (!peer.verify(issuer.publicKey)) return { ok: false, why: 'the signature does not verify' }
  if (!withinValidity(peer, nowMs)) return { ok: false, why: 'the server certificate is outside its validity period' }
  if (!withinValidity(issuer, nowMs)) return { ok: false, why: 'the CA certificate is outside its validity period' }
  const oid = signatureAlgorithmOid(peer.raw)
  if (oid === undefined || !STRONG_SIGNATURE_OIDS.has(oid)) return { ok: false, why: `signature algorithm ${oid ?? '?'} is not on the fast path` }
  if (!strongKey(peer) || !strongKey(issuer)) return { ok: false, why: 'a key type or size is not on the fast path' }
  if (!allowsServerAuth(peer) || !allowsServerAuth(issuer)) return { ok: false, why: 'extendedKeyUsage does not allow serverAuth' }
  const concern = extensionConcern(peer, issuer)
  if (concern !== undefined) return { ok: false, why: concern }
  const identity = checkIdentity()
  if (identity !== undefined) return { ok: false, why: identity.message }
  return { ok: true }
}

/** The connection options an https.Agent hands to createConnection (the fields used here). */
export interface ConnectOptions extends Tls.ConnectionOptions {
  host?: string
  servername?: string
}

// the name Node's own verification checks (tls.connect: servername || host || 'localhost')
function serverName (options: ConnectOptions): string {
  if (options.servername !== undefined && options.servername !== '') return options.servername
  return options.host !== undefined && options.host !== '' ? options.host : 'localhost'
}

/** What `makeConnector` returns: an Agent.createConnection replacement and a way to drop pending sockets. */
export interface Connector {
  createConnection: (options: ConnectOptions, callback: (err: Error | null, stream: Duplex) => void) => undefined
  /** Destroys connections still being verified (the agent does not know them yet). */
  destroyPending: () => void
}

/**
 * A createConnection for an https.Agent: connects with `ca: []` (no root store parse),
 * verifies the server with verifyDirectlyIssued before handing the socket over, and
 * otherwise connects again with Node's full verification against `caPem`.
 * `onVerdict` reports which way each connection went (for the log and tests).
 */
export function makeConnector (mods: TlsModules, caPem: Buffer, onVerdict: (v: FastVerdict) => void = () => {}): Connector {
  const cas = parseCaBundle(caPem, mods.X509Certificate)
  const pending = new Set<Tls.TLSSocket>()
  const full = (options: ConnectOptions): Tls.TLSSocket => mods.tls.connect({ ...options, ca: caPem, rejectUnauthorized: true })
  return {
    createConnection (options, callback) {
      const socket = mods.tls.connect({ ...options, ca: [], rejectUnauthorized: false })
      pending.add(socket)
      let settled = false
      const settle = (err: Error | null, stream?: Duplex): void => {
        if (settled) return
        settled = true
        pending.delete(socket)
        socket.off('error', onError)
        if (err !== null) callback(err, socket)
        else if (stream !== undefined) callback(null, stream)
      }
      const onError = (err: Error): void => settle(err)
      socket.once('error', onError)
      socket.once('secureConnect', () => {
        // one getPeerCertificate() for both views: in Node 20 a getPeerX509Certificate() call
        // leaves later peer-certificate calls on the socket empty (no subjectaltname)
        const legacy = socket.getPeerCertificate()
        const verdict = legacy.raw === undefined
          ? { ok: false as const, why: 'the server sent no certificate' }
          : verifyDirectlyIssued(new mods.X509Certificate(legacy.raw), cas, Date.now(), () => mods.tls.checkServerIdentity(serverName(options), legacy))
        onVerdict(verdict)
        if (verdict.ok) {
          settle(null, socket)
          return
        }
        // not a rejection: Node's own verification of a fresh connection decides
        socket.destroy()
        settle(null, full(options))
      })
      return undefined
    },
    destroyPending () {
      for (const s of pending) s.destroy()
      pending.clear()
    },
  }
}
