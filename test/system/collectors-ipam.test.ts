// The ipam collector: host-local's real on-disk state after real ADDs through the shim,
// whereabouts IPPools through the Kubernetes API stand-in and client-node informers,
// attachment records counted against a conf's range, and the record events (ADD
// durations, shim fallbacks) counted once into the agent's metrics.
import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { RECORD_FORMAT, writeRecord } from '../../contract/attachment-record.js'
import type { AttachmentRecord } from '../../contract/attachment-record.js'
import { AttachmentRecordsSource } from '../../collectors/attachment-records-source.js'
import { readNetworkConfs } from '../../collectors/ipam/cni-confs.js'
import { createIpamCollector } from '../../collectors/ipam/ipam-collector.js'
import type { CollectorContext } from '../../collectors/types.js'
import { startKubeApiStandIn } from '../../lab/stand-ins/kube-api-stand-in.js'
import type { KpiSample } from '../../contract/kpis.js'
import { createAgent } from '../../agent/agent.js'
import { parseConfig } from '../../agent/config/load-config.js'
import { buildServer } from '../../agent/http/server.js'
import { closedPortUrl, Stage } from '../support/cni-harness.js'
import { createNetns, skipUnlessPlugins, skipUnlessRoot, tempDir, uniqueName } from '../support/netns.js'
import { setTimeout as sleep } from 'node:timers/promises'

interface Ctx extends CollectorContext { samples: KpiSample[], errors: string[] }
function ctx (): Ctx {
  const c: Ctx = {
    node: 'nr-node', now: Date.now, samples: [], errors: [],
    emit: (s) => { c.samples.push(...s); return 0 },
    reportSuccess: () => undefined,
    reportError: (_n, err) => { c.errors.push(err instanceof Error ? err.message : String(err)) },
  }
  return c
}

function record (containerId: string, network: string, over: Partial<AttachmentRecord> = {}): AttachmentRecord {
  const now = new Date().toISOString()
  return {
    format: RECORD_FORMAT, containerId, ifname: 'eth0', netns: `/var/run/netns/${containerId}`, cniVersion: '1.0.0',
    pod: { namespace: 'default', name: containerId, uid: `uid-${containerId}` }, reason: 'explicit', decisionId: '',
    plugins: [network], state: 'added', createdAt: now, updatedAt: now, addDurationMs: 40,
    attachments: [{ network, ifname: 'eth0', conf: { name: network } as never, result: { cniVersion: '1.0.0', ips: [{ address: '10.50.0.2/28' }] } }],
    ...over,
  }
}

t.test('confs are found by name in confDir, lexical order wins, the shim\'s own conf and broken files are skipped', async t => {
  const dir = tempDir(t, 'nr-confs')
  writeFileSync(join(dir, '00-netrank.conflist'), JSON.stringify({ name: 'netrank', plugins: [{ type: 'netrank-cni' }] }))
  writeFileSync(join(dir, '10-a.conflist'), JSON.stringify({ name: 'a', plugins: [{ type: 'bridge' }, { type: 'x', ipam: { type: 'host-local', subnet: '10.0.0.0/24' } }] }))
  writeFileSync(join(dir, '20-a.conf'), JSON.stringify({ name: 'a', type: 'ptp', ipam: { type: 'static' } }))
  writeFileSync(join(dir, '30-b.conf'), '{ not json')
  writeFileSync(join(dir, 'README'), 'ignored')
  const r = await readNetworkConfs(dir)
  t.same([...r.byName.keys()], ['a'])
  t.match(r.byName.get('a'), { file: join(dir, '10-a.conflist'), pluginType: 'x', ipam: { type: 'host-local' } })
  t.equal(r.problems.length, 1)
  t.match(r.problems[0], /30-b\.conf: /)
})

t.test('records of a network without host-local are counted against its range; a missing conf is an error naming it', async t => {
  const dir = tempDir(t, 'nr-ipam-rec')
  const confDir = join(dir, 'net.d')
  mkdirSync(confDir)
  writeFileSync(join(confDir, '10-nr-mv.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'nr-mv', type: 'macvlan', ipam: { type: 'whereabouts', range: '10.50.0.0/28' } }))
  writeFileSync(join(confDir, '20-nr-static.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'nr-static', type: 'macvlan', ipam: { type: 'static' } }))
  const stateDir = join(dir, 'state')
  writeRecord(stateDir, record('c1', 'nr-mv'))
  writeRecord(stateDir, record('c2', 'nr-mv', { state: 'del-failed' }))
  writeRecord(stateDir, record('c3', 'nr-mv', { state: 'planned' }))
  writeRecord(stateDir, record('c4', 'nr-static'))
  const c = createIpamCollector({ plugins: ['nr-mv', 'nr-static', 'nr-none'], confDir, hostLocalDataDir: join(dir, 'hl'), intervalMs: 1000, records: new AttachmentRecordsSource({ stateDir }) })
  const x = ctx()
  await c.collectOnce(x)
  t.same(c.lastReport?.plugins.map((p) => [p.plugin, p.source, p.used, p.capacity]), [
    ['nr-mv', 'attachment-records', 2, 14], // a /28 without its network and broadcast addresses
    ['nr-static', 'attachment-records', 1, undefined],
    ['nr-none', undefined, undefined, undefined],
  ])
  t.same(x.samples.map((s) => [s.plugin, s.kpi, s.value]), [['nr-mv', 'ipUsed', 2], ['nr-mv', 'ipCapacity', 14], ['nr-mv', 'ipSubnets', 1], ['nr-mv', 'ipFree', 12], ['nr-static', 'ipUsed', 1]],
    'a ranged conf gives subnets and free addresses too; a conf without a range gives neither (nothing made up)')
  t.same(c.lastReport?.plugins[0]?.ranges, [{ set: 0, subnet: '10.50.0.0/28', range: '10.50.0.1-10.50.0.14', used: 2, capacity: 14, free: 12 }])
  t.equal(x.errors.length, 1)
  t.match(x.errors[0], /^nr-none: no conf named 'nr-none' in .*net\.d$/)
})

t.test('real state', async t => {
  if (skipUnlessRoot(t) || skipUnlessPlugins(t)) return
  const s = new Stage(t)
  const hl = s.addBridgeNetwork('nr-hl', { subnet: '10.177.3.0/24' })
  // a second host-local network: one range set of two ranges, the first limited by rangeStart/rangeEnd
  // (one bridge cannot carry two IPv4 gateways, so not two range sets)
  const bridge2 = uniqueName('nrb')
  s.bridges.push(bridge2) // removed with the stage
  s.writeConf('15-nr-hl2.conflist', {
    cniVersion: '1.0.0', name: 'nr-hl2',
    plugins: [{ type: 'bridge', bridge: bridge2, isGateway: true, ipam: { type: 'host-local', dataDir: s.dataDir, ranges: [[{ subnet: '10.178.4.0/24', rangeStart: '10.178.4.10', rangeEnd: '10.178.4.19' }, { subnet: '10.178.5.0/29' }]] } }],
  })
  s.writeConf('30-nr-wb.conf', { cniVersion: '1.0.0', name: 'nr-wb', type: 'macvlan', master: 'lo', ipam: { type: 'whereabouts', range: '10.50.0.0/28' } })
  const k = await startKubeApiStandIn({ dir: tempDir(t, 'nr-kube') })
  t.teardown(() => k.close())
  k.putObject('/apis/whereabouts.cni.cncf.io/v1alpha1/namespaces/kube-system/ippools/10.50.0.0-28', {
    apiVersion: 'whereabouts.cni.cncf.io/v1alpha1', kind: 'IPPool', metadata: { name: '10.50.0.0-28', namespace: 'kube-system' },
    spec: { range: '10.50.0.0/28', allocations: { 2: { id: 'x', podref: 'default/a' }, 3: { id: 'y', podref: 'default/b' }, 4: { id: 'z', podref: 'default/c' } } },
  })

  let n = 0
  const add = async (net: string | undefined, conf: Record<string, unknown> = {}): Promise<void> => {
    const ns = createNetns('nri')
    t.teardown(() => ns.remove())
    const containerId = `nrctr${process.pid}i${++n}`
    const args = { K8S_POD_NAMESPACE: 'default', K8S_POD_NAME: `p${n}`, K8S_POD_INFRA_CONTAINER_ID: containerId, K8S_POD_UID: `uid-${n}` }
    const c = { ...(net !== undefined ? { defaultPlugins: [net] } : {}), ...conf }
    const r = await s.run('ADD', { containerId, netns: ns.path, args, conf: c })
    t.equal(r.code, 0, `ADD ${containerId}: ${r.code === 0 ? '' : r.stdout + r.stderr}`)
    t.teardown(async () => { await s.run('DEL', { containerId, netns: ns.path, args, conf: c }) })
  }
  await add('nr-hl')
  await add('nr-hl')
  await add('nr-hl2')
  // smart selection with the agent unreachable: the shim falls back to the first network (nr-hl)
  await add(undefined, { selector: { url: await closedPortUrl(), timeoutMs: 300 } })

  const adir = tempDir(t, 'nr-ipam-agent')
  const config = parseConfig({
    node: 'nr-node',
    plugins: [{ name: 'nr-hl' }, { name: 'nr-hl2' }, { name: 'nr-wb' }],
    cni: { confDir: s.confDir, stateDir: s.stateDir, hostLocalDataDir: join(adir, 'unused') },
    kubernetes: { kubeconfig: k.kubeconfigPath },
    collectors: { ipam: { enabled: true, intervalMs: 1000, whereabouts: true } },
    audit: { dir: join(adir, 'audit') },
  }, { baseDir: adir })
  const agent = await createAgent(config)
  const app = await buildServer({ agent, logger: false })
  t.teardown(async () => { await app.close(); await agent.close() })
  await agent.runCollectorsOnce()

  t.test('host-local state of real ADDs, whereabouts pools through the API: /rank and /metrics show used and capacity', async t => {
    const rank = (await app.inject({ method: 'GET', url: '/rank' })).json() as { plugins: Array<{ plugin: string, kpis: Record<string, { value: number } | undefined> }> }
    const kpis = (p: string): Record<string, number | undefined> => {
      const e = rank.plugins.find((x) => x.plugin === p)?.kpis ?? {}
      return { used: e.ipUsed?.value, capacity: e.ipCapacity?.value, occupancy: e.ipOccupancy?.value }
    }
    t.same(kpis('nr-hl'), { used: 3, capacity: 253, occupancy: 3 / 253 }, `${hl.subnet}: 3 pods (one by fallback), .1 is the gateway`)
    t.same(kpis('nr-hl2'), { used: 1, capacity: 10 + 5, occupancy: 1 / 15 }, 'rangeStart..rangeEnd (10) + a /29 without network, broadcast, gateway (5)')
    t.same(kpis('nr-wb'), { used: 3, capacity: 14, occupancy: 3 / 14 }, 'the IPPool\'s three allocations in a /28')
    const pool = (p: string): Record<string, number | undefined> => {
      const e = rank.plugins.find((x) => x.plugin === p)?.kpis ?? {}
      return { subnets: e.ipSubnets?.value, free: e.ipFree?.value }
    }
    t.same(pool('nr-hl'), { subnets: 1, free: 250 }, 'one /24: 253 − 3')
    t.same(pool('nr-hl2'), { subnets: 2, free: 14 }, 'one range set of two ranges: their free addresses add up (9 + 5)')
    t.same(pool('nr-wb'), { subnets: 1, free: 11 })
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    t.match(metrics, /^netrank_ipam_allocated_ips\{node="nr-node",plugin="nr-hl"\} 3$/m)
    t.match(metrics, /^netrank_ipam_capacity_ips\{node="nr-node",plugin="nr-wb"\} 14$/m)
    t.match(metrics, /^netrank_ipam_subnets\{node="nr-node",plugin="nr-hl2"\} 2$/m)
    t.match(metrics, /^netrank_ipam_free_ips\{node="nr-node",plugin="nr-hl2"\} 14$/m)
    t.match(metrics, /^netrank_ipam_range_free_ips\{node="nr-node",plugin="nr-hl2",subnet="10\.178\.4\.0\/24",range="10\.178\.4\.10-10\.178\.4\.19"\} 9$/m, 'free per range')
    t.match(metrics, /^netrank_ipam_range_free_ips\{node="nr-node",plugin="nr-hl2",subnet="10\.178\.5\.0\/29",range="10\.178\.5\.1-10\.178\.5\.6"\} 5$/m)
    t.match(metrics, /^netrank_collector_last_success_timestamp_seconds\{collector="ipam"\} \d/m)
  })

  t.test('every ADD duration is observed once and the shim\'s fallback is counted as a selection', async t => {
    await agent.runCollectorsOnce()
    const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
    t.match(metrics, /^netrank_cni_add_duration_seconds_count 4$/m, 'four ADDs, counted once over two cycles')
    t.match(metrics, /^netrank_selections_total\{node="nr-node",plugin="nr-hl",reason="fallback-[a-z-]+",profile="none"\} 1$/m)
  })

  t.test('an IPPool change arrives through the watch', async t => {
    k.putObject('/apis/whereabouts.cni.cncf.io/v1alpha1/namespaces/kube-system/ippools/10.50.0.0-28', {
      apiVersion: 'whereabouts.cni.cncf.io/v1alpha1', kind: 'IPPool', metadata: { name: '10.50.0.0-28', namespace: 'kube-system' },
      spec: { range: '10.50.0.0/28', allocations: { 2: { id: 'x', podref: 'default/a' } } },
    })
    let used: number | undefined
    for (let i = 0; i < 50 && used !== 1; i++) {
      await sleep(100)
      await agent.runCollectorsOnce()
      used = agent.snapshot().plugins['nr-wb']?.ipUsed?.value
    }
    t.equal(used, 1, 'the watch delivered the new allocations')
  })

  t.test('an API server that goes away keeps the last pools; the watch restarts and later changes arrive', async t => {
    k.setFault({ mode: 'refuse' }) // also drops the open watch connection
    await sleep(300)
    await agent.runCollectorsOnce()
    t.equal(agent.snapshot().plugins['nr-wb']?.ipUsed?.value, 1, 'the cached pool still answers')
    k.setFault({ mode: 'none' })
    k.putObject('/apis/whereabouts.cni.cncf.io/v1alpha1/namespaces/kube-system/ippools/10.50.0.0-28', {
      apiVersion: 'whereabouts.cni.cncf.io/v1alpha1', kind: 'IPPool', metadata: { name: '10.50.0.0-28', namespace: 'kube-system' },
      spec: { range: '10.50.0.0/28', allocations: { 2: { id: 'x', podref: 'default/a' }, 5: { id: 'w', podref: 'default/d' } } },
    })
    let used: number | undefined
    for (let i = 0; i < 100 && used !== 2; i++) {
      await sleep(100)
      await agent.runCollectorsOnce()
      used = agent.snapshot().plugins['nr-wb']?.ipUsed?.value
    }
    t.equal(used, 2, 'the restarted watch delivered the change')
  })

  t.test('an API server that refuses: the whereabouts network is a counted error, the host-local ones are still measured', async t => {
    k.setFault({ mode: 'refuse' })
    t.teardown(() => k.setFault({ mode: 'none' }))
    const bdir = tempDir(t, 'nr-ipam-down')
    const down = await createAgent(parseConfig({ ...config, node: 'nr-node', plugins: config.plugins, cni: config.cni, kubernetes: { kubeconfig: k.kubeconfigPath }, collectors: { ipam: { enabled: true, whereabouts: true } }, audit: { dir: join(bdir, 'audit') } }, { baseDir: bdir }))
    const app2 = await buildServer({ agent: down, logger: false })
    t.teardown(async () => { await app2.close(); await down.close() })
    await down.runCollectorsOnce()
    const snap = down.snapshot().plugins
    t.equal(snap['nr-hl']?.ipUsed?.value, 3)
    t.equal(snap['nr-wb']?.ipUsed, undefined)
    const metrics = (await app2.inject({ method: 'GET', url: '/metrics' })).body
    t.match(metrics, /^netrank_collector_errors_total\{collector="ipam"\} 1$/m)
    t.equal((await app2.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  })
})
