// A throw-away PKI for the Kubernetes API stand-in: one CA, a server certificate and a
// client certificate, made with the `openssl` CLI (execFile, no shell). EC P-256 keys,
// because generating them takes milliseconds where RSA takes tenths of a second.
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'

const execFileAsync = promisify(execFile)

const CERT_DEFAULTS = Object.freeze({
  validityDays: 3650, // 10 years: lab dirs can outlive a test run
  curve: 'prime256v1',
  caSubject: '/CN=netrank-kube-api-stand-in-ca',
  serverSubject: '/CN=kube-apiserver-stand-in',
  // kubelet-style identity: CN = user, O = group
  clientSubject: '/O=system:nodes/CN=system:node:netrank-cni',
  opensslTimeoutMs: 20_000, // 20 s: a loaded CI machine, never a hang
})

/** Paths of the PEM files written by {@link generateStandInPki}. */
export interface StandInPki {
  caPath: string
  caKeyPath: string
  serverCertPath: string
  serverKeyPath: string
  clientCertPath: string
  clientKeyPath: string
}

async function openssl (args: string[], cwd: string): Promise<void> {
  try {
    await execFileAsync('openssl', args, { cwd, timeout: CERT_DEFAULTS.opensslTimeoutMs })
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string }
    if (e.code === 'ENOENT') throw new Error('the openssl CLI is not installed (apt-get install openssl); the Kubernetes API stand-in needs it to make its certificates')
    throw new Error(`openssl ${args[0] ?? ''} failed: ${(e.stderr ?? e.message).trim()}`)
  }
}

/**
 * Writes a CA, a server certificate valid for `hosts` (IPs and DNS names) and a client
 * certificate (clientAuth) signed by that CA into `dir`.
 */
export async function generateStandInPki (dir: string, hosts: string[]): Promise<StandInPki> {
  await mkdir(dir, { recursive: true })
  const p = (f: string): string => join(dir, f)
  const pki: StandInPki = {
    caPath: p('ca.crt'),
    caKeyPath: p('ca.key'),
    serverCertPath: p('server.crt'),
    serverKeyPath: p('server.key'),
    clientCertPath: p('client.crt'),
    clientKeyPath: p('client.key'),
  }
  const days = String(CERT_DEFAULTS.validityDays)
  const newKey = ['-newkey', 'ec', '-pkeyopt', `ec_paramgen_curve:${CERT_DEFAULTS.curve}`, '-nodes']

  await openssl(['req', '-x509', ...newKey, '-keyout', pki.caKeyPath, '-out', pki.caPath, '-days', days,
    '-subj', CERT_DEFAULTS.caSubject,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir)

  const san = [...new Set(hosts)].map((h) => (isIP(h) !== 0 ? `IP:${h}` : `DNS:${h}`)).join(',')
  const leaves = [
    { name: 'server', subject: CERT_DEFAULTS.serverSubject, ext: `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n` },
    { name: 'client', subject: CERT_DEFAULTS.clientSubject, ext: 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n' },
  ]
  for (const leaf of leaves) {
    const extPath = p(`${leaf.name}.ext`)
    await writeFile(extPath, leaf.ext)
    await openssl(['req', ...newKey, '-keyout', p(`${leaf.name}.key`), '-out', p(`${leaf.name}.csr`), '-subj', leaf.subject], dir)
    await openssl(['x509', '-req', '-in', p(`${leaf.name}.csr`), '-CA', pki.caPath, '-CAkey', pki.caKeyPath,
      '-set_serial', `0x${Date.now().toString(16)}${leaf.name === 'server' ? '01' : '02'}`,
      '-out', p(`${leaf.name}.crt`), '-days', days, '-extfile', extPath], dir)
  }
  return pki
}
