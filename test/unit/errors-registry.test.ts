import t from 'tap'
import { AgentError, agentError, errorBody, ERRORS } from '../../agent/errors.js'
import type { ErrorCode } from '../../agent/errors.js'

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
  const cases: Array<[ErrorCode, number]> = [['NR_UNKNOWN_PROFILE', 400], ['NR_FORBIDDEN', 403], ['NR_NO_ELIGIBLE_PLUGIN', 503], ['NR_BODY_TOO_LARGE', 413]]
  for (const [code, status] of cases) {
    const e = agentError(code, 'why')
    t.equal(e.code, code)
    t.equal(e.statusCode, status)
    t.equal(e.message, 'why')
    t.ok(e instanceof AgentError, 'an AgentError (what the error handler answers with its code)')
    t.ok(e instanceof Error)
    t.match(e.stack, /errors-registry\.test\.ts/, 'the stack points at the thrower')
  }
  t.equal(agentError('NR_BAD_WINDOW', '50%s done').message, '50%s done', 'the message is not a format string')
  t.equal(agentError('NR_NOT_READY').message, ERRORS.NR_NOT_READY.message, 'the default wording when none is given')
})

t.test('the error body has exactly the {error:{code, message}} shape', async t => {
  t.same(errorBody('NR_NOT_FOUND', 'no route GET /x'), { error: { code: 'NR_NOT_FOUND', message: 'no route GET /x' } })
})
