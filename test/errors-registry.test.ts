import t from 'tap'
import { AgentError, errorBody, ERRORS } from '../services/errors.js'
import type { ErrorCode } from '../services/errors.js'

t.test('every error registry key equals its code, so codes cannot drift from their names', async t => {
  for (const [key, def] of Object.entries(ERRORS)) t.equal(def.code, key, `${key}.code`)
})

t.test('every error code maps to a 4xx or 5xx status and has default wording', async t => {
  for (const def of Object.values(ERRORS)) {
    t.ok(def.statusCode >= 400 && def.statusCode < 600, `${def.code}: ${def.statusCode}`)
    t.ok(def.message.length > 0, `${def.code} has a message`)
  }
})

t.test('an AgentError carries the code, the registry status and the given message', async t => {
  const cases: Array<[ErrorCode, number]> = [['UNKNOWN_PROFILE', 400], ['FORBIDDEN', 403], ['NO_ELIGIBLE_PLUGIN', 503], ['BODY_TOO_LARGE', 413]]
  for (const [code, status] of cases) {
    const e = new AgentError(code, 'why')
    t.equal(e.code, code)
    t.equal(e.statusCode, status)
    t.equal(e.message, 'why')
  }
  t.equal(new AgentError('NOT_READY').message, ERRORS.NOT_READY.message, 'the default wording when none is given')
})

t.test('the error body has exactly the {error:{code, message}} shape', async t => {
  t.same(errorBody('NOT_FOUND', 'no route GET /x'), { error: { code: 'NOT_FOUND', message: 'no route GET /x' } })
})
