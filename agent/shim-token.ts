/**
 * The shim's own credentials (docs/cni-shim.md#credentials): the agent mints a token for the
 * shim's ServiceAccount (RBAC: get/patch pods, get NADs — nothing else) through the
 * TokenRequest API and writes it to the file the shim's kubeconfig names (`tokenFile`). The
 * token is bound to no object, so it outlives an agent rollout or a crashed agent until its
 * expiry (`expirationSeconds`, 6 h by default); the agent mints a new one after a third of
 * that, so an agent may be gone for 4 h before the shim's direct path loses the API. The file
 * is written atomically, mode 0600. A failed mint is retried with backoff, counted, and the
 * old token stays in place.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'

export interface ShimTokenOptions {
  namespace: string
  serviceAccount: string
  file: string
  expirationSeconds: number
  /** POSTs the TokenRequest; returns the API's answer */
  request: (path: string, body: unknown) => Promise<Record<string, unknown> | undefined>
  onMinted: (expiresAtMs: number) => void
  onError: (err: unknown) => void
  now?: () => number
}

export const SHIM_TOKEN_TUNING = Object.freeze({
  refreshAfterFraction: 1 / 3, // a new token after a third of the lifetime
  retryMinMs: 1_000,
  retryMaxMs: 60_000,
})

/** Writes `text` to `file` atomically (temp file in the same dir, fsync, rename), mode 0600. */
export function writeSecretFile (file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  const tmp = join(dirname(file), `.${process.pid}.${Date.now()}.tmp`)
  const fd = openSync(tmp, 'w', 0o600)
  try {
    writeSync(fd, text)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, file)
}

export class ShimTokenMinter {
  readonly #o: ShimTokenOptions
  #timer: NodeJS.Timeout | undefined
  #stopped = false
  #retryMs: number = SHIM_TOKEN_TUNING.retryMinMs
  #expiresAtMs: number | undefined

  constructor (opts: ShimTokenOptions) {
    this.#o = opts
  }

  /** when the token in the file expires (undefined before the first mint) */
  get expiresAtMs (): number | undefined { return this.#expiresAtMs }

  /** Mints once; resolves true when a token was written. */
  async mintOnce (): Promise<boolean> {
    const { namespace, serviceAccount, expirationSeconds } = this.#o
    try {
      const answer = await this.#o.request(`/api/v1/namespaces/${encodeURIComponent(namespace)}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: { expirationSeconds },
      })
      const status = (answer?.status ?? {}) as { token?: unknown, expirationTimestamp?: unknown }
      if (typeof status.token !== 'string' || status.token === '') throw new Error(`TokenRequest for ${namespace}/${serviceAccount}: ${answer === undefined ? 'the service account does not exist' : 'no status.token in the answer'}`)
      const expires = typeof status.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : NaN
      this.#expiresAtMs = Number.isFinite(expires) ? expires : (this.#o.now ?? Date.now)() + expirationSeconds * 1000
      writeSecretFile(this.#o.file, status.token)
      this.#o.onMinted(this.#expiresAtMs)
      return true
    } catch (err) {
      this.#o.onError(err)
      return false
    }
  }

  /** Mints now, then a third of the lifetime later, for as long as it runs. */
  start (): void {
    this.#stopped = false
    void this.#cycle()
  }

  async #cycle (): Promise<void> {
    if (this.#stopped) return
    const ok = await this.mintOnce()
    if (this.#stopped) return
    let delay: number
    if (ok) {
      this.#retryMs = SHIM_TOKEN_TUNING.retryMinMs
      delay = this.#o.expirationSeconds * 1000 * SHIM_TOKEN_TUNING.refreshAfterFraction
    } else {
      delay = this.#retryMs
      this.#retryMs = Math.min(this.#retryMs * 2, SHIM_TOKEN_TUNING.retryMaxMs)
    }
    this.#timer = setTimeout(() => { void this.#cycle() }, delay)
    this.#timer.unref()
  }

  stop (): void {
    this.#stopped = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
  }
}
