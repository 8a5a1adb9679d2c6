// PATCH bodies the way the Kubernetes API server applies them, for the API stand-in:
//  - application/merge-patch+json: RFC 7386 (objects merge, null deletes a key, arrays replace);
//  - application/strategic-merge-patch+json: a merge patch that also understands what kubectl
//    apply sends: lists of objects with a `name` (containers, volumes, env…) merge by name, list
//    items with `"$patch": "delete"` are removed, `$setElementOrder/LIST` orders such a list,
//    maps with `"$patch": "replace"` replace, `$deleteFromPrimitiveList/LIST` removes values;
//    other `$` directives (`$retainKeys`) are dropped. Lists the real server merges by another
//    key (ports by containerPort…) are replaced whole;
//  - application/json-patch+json: RFC 6902 add, remove, replace, test (what client-node sends
//    by default).

/** A PATCH that cannot be applied; `code` is the HTTP status the API server answers with. */
export class PatchError extends Error {
  readonly code: number
  constructor (message: string, code: number) {
    super(message)
    this.name = 'PatchError'
    this.code = code
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json }

function isPlainObject (v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** RFC 7386 JSON merge patch; returns a new value, inputs untouched. */
export function mergePatch (target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch)
  const out: Record<string, unknown> = isPlainObject(target) ? structuredClone(target) : {}
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k]
    else out[k] = mergePatch(out[k], v)
  }
  return out
}

const isNamedList = (v: unknown): v is Array<Record<string, unknown>> =>
  Array.isArray(v) && v.every((e) => isPlainObject(e) && typeof e.name === 'string')

/** Merges `patch` items into `target` by `name`; `$setElementOrder` names come first, in order. */
function mergeByName (target: Array<Record<string, unknown>>, patch: Array<Record<string, unknown>>, order: unknown): unknown[] {
  const out = target.map((e) => structuredClone(e))
  for (const item of patch) {
    const i = out.findIndex((e) => e.name === item.name)
    if (item.$patch === 'delete') { if (i >= 0) out.splice(i, 1); continue }
    if (i >= 0) out[i] = strategicMergePatch(out[i], item) as Record<string, unknown>
    else out.push(strategicMergePatch({}, item) as Record<string, unknown>)
  }
  if (!isNamedList(order)) return out
  const rank = new Map(order.map((e, i) => [e.name, i]))
  const at = (e: Record<string, unknown>): number => rank.get(e.name) ?? order.length
  return out.map((e, i) => ({ e, i })).sort((a, b) => at(a.e) - at(b.e) || a.i - b.i).map(({ e }) => e)
}

/** A strategic merge patch as far as the stand-in understands one (see the file header). */
export function strategicMergePatch (target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch)
  if (patch.$patch === 'replace') return strategicMergePatch({}, Object.fromEntries(Object.entries(patch).filter(([k]) => k !== '$patch')))
  const out: Record<string, unknown> = isPlainObject(target) ? structuredClone(target) : {}
  for (const [k, v] of Object.entries(patch)) {
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const list = k.slice('$deleteFromPrimitiveList/'.length)
      const cur = out[list]
      if (Array.isArray(cur) && Array.isArray(v)) out[list] = cur.filter((e) => !v.includes(e))
      continue
    }
    if (k.startsWith('$')) continue
    const cur = out[k]
    if (v === null) delete out[k]
    else if (isNamedList(v) && isNamedList(cur)) out[k] = mergeByName(cur, v, patch[`$setElementOrder/${k}`])
    else if (Array.isArray(v)) out[k] = v.filter((e) => !(isPlainObject(e) && e.$patch === 'delete')).map((e) => strategicMergePatch(undefined, e))
    else out[k] = strategicMergePatch(cur, v)
  }
  return out
}

interface JsonPatchOp { op: string, path: string, value?: unknown, from?: string }

function parsePointer (pointer: string): string[] {
  if (pointer === '') return []
  if (!pointer.startsWith('/')) throw new PatchError(`JSON pointer "${pointer}" must start with "/"`, 422)
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function containerAt (doc: unknown, tokens: string[], pointer: string): unknown {
  let cur: unknown = doc
  for (const t of tokens) {
    if (Array.isArray(cur)) cur = cur[Number(t)]
    else if (isPlainObject(cur)) cur = cur[t]
    else cur = undefined
    if (cur === undefined) throw new PatchError(`path "${pointer}" does not exist`, 422)
  }
  return cur
}

/** RFC 6902 JSON patch (add, remove, replace, test); returns a new document. */
export function jsonPatch (target: unknown, ops: unknown): unknown {
  if (!Array.isArray(ops)) throw new PatchError('a JSON patch must be an array of operations', 400)
  let doc = structuredClone(target) as Json
  for (const raw of ops as unknown[]) {
    if (!isPlainObject(raw) || typeof raw.op !== 'string' || typeof raw.path !== 'string') {
      throw new PatchError('each JSON patch operation needs string "op" and "path"', 400)
    }
    const op = raw as unknown as JsonPatchOp
    const tokens = parsePointer(op.path)
    const last = tokens[tokens.length - 1]
    if (last === undefined) {
      if (op.op === 'add' || op.op === 'replace') { doc = structuredClone(op.value) as Json; continue }
      throw new PatchError(`operation "${op.op}" on the whole document is not supported`, 422)
    }
    const parent = containerAt(doc, tokens.slice(0, -1), op.path)
    const exists = Array.isArray(parent) ? Number(last) < parent.length : isPlainObject(parent) && Object.hasOwn(parent, last)
    switch (op.op) {
      case 'add':
        if (Array.isArray(parent)) {
          const i = last === '-' ? parent.length : Number(last)
          if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new PatchError(`array index in "${op.path}" is out of range`, 422)
          parent.splice(i, 0, structuredClone(op.value))
        } else if (isPlainObject(parent)) parent[last] = structuredClone(op.value)
        else throw new PatchError(`path "${op.path}" does not exist`, 422)
        break
      case 'replace':
      case 'remove':
        if (!exists) throw new PatchError(`path "${op.path}" does not exist`, 422)
        if (Array.isArray(parent)) {
          if (op.op === 'remove') parent.splice(Number(last), 1)
          else parent[Number(last)] = structuredClone(op.value)
        } else if (isPlainObject(parent)) {
          if (op.op === 'remove') delete parent[last]
          else parent[last] = structuredClone(op.value)
        }
        break
      case 'test': {
        const cur = exists ? (parent as Record<string, unknown>)[last] : undefined
        if (JSON.stringify(cur) !== JSON.stringify(op.value)) throw new PatchError(`test at "${op.path}" failed`, 422)
        break
      }
      default:
        throw new PatchError(`JSON patch operation "${op.op}" is not supported by the stand-in (add, remove, replace, test)`, 422)
    }
  }
  return doc
}

/** The patch content types the stand-in understands. */
export const PATCH_CONTENT_TYPES = Object.freeze([
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/json-patch+json',
])

/** Applies `body` (already parsed JSON) to `target` according to `contentType`. */
export function applyPatch (contentType: string, target: unknown, body: unknown): unknown {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? ''
  if (type === 'application/json-patch+json') return jsonPatch(target, body)
  if (type === 'application/merge-patch+json' || type === 'application/strategic-merge-patch+json') {
    if (!isPlainObject(body)) throw new PatchError('a merge patch must be a JSON object', 400)
    return type === 'application/merge-patch+json' ? mergePatch(target, body) : strategicMergePatch(target, body)
  }
  throw new PatchError(`the body of the request was in an unknown format - accepted media types include: ${PATCH_CONTENT_TYPES.join(', ')}`, 415)
}
