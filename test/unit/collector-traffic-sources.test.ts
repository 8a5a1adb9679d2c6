import t from 'tap'
import http from 'node:http'
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { HttpClient } from '../../collectors/http-fetch.js'
import { scrapeCadvisorV1Counters, scrapePromCounters, scrapeSummaryCounters } from '../../collectors/traffic/traffic-sources.js'

const fx = (p: string): Buffer => readFileSync(new URL(`../fixtures/${p}`, import.meta.url))
const PAGES: Record<string, Buffer> = {
  '/metrics/cadvisor': fx('cadvisor/kubelet-metrics-cadvisor_k8s-1.35_network-families-only.prom'),
  '/stats/summary': fx('kubelet/kubelet-stats-summary_k8s-1.35_minikube.json'),
  '/api/v1.3/subcontainers': fx('cadvisor/cadvisor-api-v1.3-subcontainers_k8s-1.2-docker_dd-agent.json'),
}

// Serves the real fixtures in small writes, so the parser sees lines split across chunks.
async function server (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const s = http.createServer((req, res) => {
    const body = PAGES[req.url ?? '']
    if (body === undefined) { res.statusCode = 404; res.end(); return }
    let at = 0
    const next = (): void => {
      if (at >= body.length) { res.end(); return }
      res.write(body.subarray(at, at + 4093))
      at += 4093
      setImmediate(next)
    }
    next()
  })
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => { s.closeAllConnections(); s.close(() => resolve()) }))
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`
}

t.test('the kubelet page streams through the parser: 18 pods, hostNetwork pods dropped, all bytes read', async t => {
  const base = await server(t)
  const c = new HttpClient({ timeoutMs: 5000 })
  t.teardown(() => c.close())
  const all = await scrapePromCounters(c, `${base}/metrics/cadvisor`, 0)
  t.equal(all.bytes, PAGES['/metrics/cadvisor']?.length)
  t.equal(all.counters.length, 180)
  t.match(all.parse, { lines: 1536, kept: 380, malformed: 0, aggregate: { root: 20 } })
  const some = await scrapePromCounters(c, `${base}/metrics/cadvisor`, 0, { hostNetworkPods: new Set(['kube-system/kindnet-zkpn8']) })
  t.equal(some.counters.length, 170)
})

t.test('summary and cAdvisor v1.3 scrapes give the same counters as parsing the files', async t => {
  const base = await server(t)
  const c = new HttpClient({ timeoutMs: 5000 })
  t.teardown(() => c.close())
  const s = await scrapeSummaryCounters(c, `${base}/stats/summary`, 0)
  t.equal(s.counters.length, 170)
  const v1 = await scrapeCadvisorV1Counters(c, `${base}/api/v1.3/subcontainers`)
  t.same(v1.counters.map((x) => [x.pod, x.interface, x.rxBytes, x.txBytes]), [['dd-agent-1rxlh', 'eth0', 1217092163, 86040599]])
})

t.test('a page over the size cap fails the scrape instead of filling memory', async t => {
  const base = await server(t)
  const c = new HttpClient({ timeoutMs: 5000, maxBytes: 100_000 })
  t.teardown(() => c.close())
  await t.rejects(scrapePromCounters(c, `${base}/metrics/cadvisor`, 0), { code: 'TOO_LARGE' })
  await t.rejects(scrapeSummaryCounters(c, `${base}/nope`, 0), { code: 'HTTP_STATUS', status: 404 })
})
