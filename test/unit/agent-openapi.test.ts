import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import { createAgent } from '../../agent/agent.js'
import { parseConfig } from '../../agent/config/load-config.js'
import { openapiDocument } from '../../agent/http/openapi.js'
import { packageRoot } from '../../cli/package-root.js'
import { buildServer } from '../../agent/http/server.js'

const ROUTES: Array<[string, string]> = [
  ['get', '/rank'], ['get', '/v1/rank'], ['post', '/v1/select'], ['get', '/v1/kpis'], ['get', '/v1/decisions'],
  ['get', '/v1/report'], ['get', '/v1/policy'], ['get', '/v1/explain'], ['get', '/metrics'], ['get', '/healthz'], ['get', '/readyz'],
]

async function served (t: Test): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'nr-openapi-'))
  const agent = await createAgent(parseConfig({ node: 'other-node', plugins: [{ name: 'x' }, { name: 'y' }], audit: { dir } }))
  const app = await buildServer({ agent })
  t.teardown(async () => {
    await app.close()
    await agent.close()
    await rm(dir, { recursive: true, force: true })
  })
  const res = await app.inject('/openapi.json')
  t.equal(res.statusCode, 200)
  return res.json()
}

t.test('the agent serves an OpenAPI 3 document with exactly the routes of docs/api.md', async t => {
  const doc = await served(t)
  t.match(doc, { openapi: /^3\./, info: { title: 'netrank agent' } })
  const paths = doc.paths as Record<string, Record<string, unknown>>
  t.same(Object.keys(paths).sort(), ROUTES.map(([, p]) => p).sort())
  for (const [method, path] of ROUTES) t.ok(paths[path]?.[method], `${method.toUpperCase()} ${path}`)
})

t.test('every route documents its responses, errors in the {error:{code,message}} shape', async t => {
  const doc = await served(t)
  for (const [method, path] of ROUTES) {
    const op = (doc.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: { properties?: Record<string, unknown> } }> }> }>>)[path]?.[method]
    t.ok(op?.responses['200'], `${path} documents 200`)
    for (const [status, r] of Object.entries(op?.responses ?? {})) {
      if (Number(status) >= 400) t.ok(r.content?.['application/json']?.schema.properties?.error, `${path} ${status} is an error body`)
    }
  }
  const select = (doc.paths as Record<string, { post: { requestBody: { content: { 'application/json': { schema: { required: string[] } } } } } }>)['/v1/select']
  t.same(select?.post.requestBody.content['application/json'].schema.required, ['namespace', 'pod', 'containerId'])
})

t.test('docs/openapi.json is what the server generates', async t => {
  const committed = await readFile(join(packageRoot(), 'docs', 'openapi.json'), 'utf8').catch(() => '')
  const generated = await openapiDocument()
  t.same(JSON.parse(generated), await served(t), 'the generator and the served route agree')
  t.ok(committed === generated,
    'docs/openapi.json is out of date with the route schemas: regenerate it with `npm run build && node scripts/openapi.mjs` ' +
    '(or `node dist/bin/netrank.js openapi > docs/openapi.json`) and commit it')
})
