// fieldSelector and labelSelector query parameters, as the Kubernetes API server reads them,
// for the API stand-in. Equality-based forms only (`a=b`, `a==b`, `a!=b`, and for labels
// `key` / `!key`); set-based label forms (`in`, `notin`) are rejected with a clear message.

/** A selector that cannot be parsed; the stand-in answers 400 BadRequest with the message. */
export class SelectorError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'SelectorError'
  }
}

type Predicate = (obj: unknown) => boolean

interface Requirement { key: string, op: '=' | '!=' | 'exists' | '!exists', value: string }

function splitTerms (selector: string): string[] {
  return selector.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
}

function parseEquality (term: string, kind: string): Requirement {
  const m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(term)
  if (m === null) throw new SelectorError(`invalid ${kind} selector term "${term}": expected key=value, key==value or key!=value`)
  const [, key = '', op = '', value = ''] = m
  return { key, op: op === '!=' ? '!=' : '=', value: value.trim() }
}

function fieldValue (obj: unknown, path: string): string {
  let cur: unknown = obj
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return ''
    cur = (cur as Record<string, unknown>)[part]
  }
  if (cur === undefined || cur === null) return ''
  return typeof cur === 'string' ? cur : JSON.stringify(cur)
}

/** `spec.nodeName=node-1,metadata.namespace!=kube-system` → predicate over objects. */
export function parseFieldSelector (selector: string): Predicate {
  const reqs = splitTerms(selector).map((t) => parseEquality(t, 'field'))
  return (obj) => reqs.every((r) => (fieldValue(obj, r.key) === r.value) === (r.op === '='))
}

/** `app=probe,tier!=x,netrank.io/probe,!skip` → predicate over objects' metadata.labels. */
export function parseLabelSelector (selector: string): Predicate {
  if (/[()]|\s(in|notin)\s/.test(selector)) {
    throw new SelectorError(`set-based label selector "${selector}" is not supported by the Kubernetes API stand-in; use key=value, key!=value, key or !key`)
  }
  const reqs: Requirement[] = splitTerms(selector).map((t) => {
    if (/^!?[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(t)) {
      return t.startsWith('!') ? { key: t.slice(1), op: '!exists', value: '' } : { key: t, op: 'exists', value: '' }
    }
    return parseEquality(t, 'label')
  })
  return (obj) => {
    const meta = (obj as { metadata?: { labels?: Record<string, string> } }).metadata
    const labels = meta?.labels ?? {}
    return reqs.every((r) => {
      const has = Object.hasOwn(labels, r.key)
      switch (r.op) {
        case 'exists': return has
        case '!exists': return !has
        case '=': return has && labels[r.key] === r.value
        case '!=': return !has || labels[r.key] !== r.value
      }
      return false
    })
  }
}
