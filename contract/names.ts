// Name rules shared by the shim, the agent and its config: one definition each.

/**
 * A CNI network name, libcni's rule (pkg/utils ValidateNetworkName): letters, digits,
 * `_ . -`, a letter or digit first. It also keeps `__proto__` and friends out of the plain
 * objects keyed by network name.
 */
export const CNI_NAME_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$'
const CNI_NAME = new RegExp(CNI_NAME_PATTERN)

/** True when `v` is a CNI network name. */
export function isCniName (v: unknown): v is string {
  return typeof v === 'string' && CNI_NAME.test(v)
}

/** Kubernetes object names and namespaces (DNS-1123 subdomain: lowercase, at most 253 characters). */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/

/** True when `v` is a DNS-1123 subdomain name (NAD names, namespaces). */
export function isDns1123Subdomain (v: unknown): v is string {
  return typeof v === 'string' && v.length <= 253 && DNS1123_SUBDOMAIN.test(v)
}

/** Why `name` is not a usable Linux interface name (1–15 bytes, no '/', ':' or whitespace, not . or ..), or undefined when it is. */
export function ifnameProblem (name: string): string | undefined {
  if (name.length === 0 || Buffer.byteLength(name) > 15 || name === '.' || name === '..' || /[/:\s]/.test(name)) {
    return `${JSON.stringify(name)} is not a valid interface name (1-15 bytes, no '/', ':' or spaces)`
  }
  return undefined
}
