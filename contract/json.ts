// Guards for parsed JSON: one definition for every reader of wire and file formats.

/** True for a JSON object (not null, not an array). */
export function isObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}
