// The shim's side of logical networks: a delegate conf limited to a sub_subnet, and the
// resolver's errors (117 missing, 118 invalid or unrestrictable), from objects as the API gives them.
import t from 'tap'
import { cidrSpan } from '../../cni/cidr-span.js'
import { ipamRanges, logicalResolver, restrictIpam } from '../../cni/logical-resolve.js'
import { sliceOf } from '../../contract/logical-network.js'
import { CniError } from '../../cni/errors.js'
import type { DelegateNetwork } from '../../contract/attachment-record.js'

const span = (s: string) => { const x = cidrSpan(s); if (x === undefined) throw new Error(s); return x }
const shared: DelegateNetwork = { name: 'nr-shared', cniVersion: '1.0.0', disableCheck: false, disableGC: false, source: '/etc/cni/net.d/90-nr-shared.conflist', plugins: [{ type: 'bridge', bridge: 'nrbr-shared', isGateway: true, ipam: { type: 'host-local', ranges: [[{ subnet: '10.68.0.0/24' }]], dataDir: '/d' } }, { type: 'bandwidth', ingressRate: 1 }] } as DelegateNetwork

t.test('cidrSpan: v4 and v6, host bits masked, garbage refused', async (t) => {
  t.match(cidrSpan('10.68.0.20/28'), { family: 4, first: BigInt(0x0a440010), last: BigInt(0x0a44001f) })
  t.match(cidrSpan('fd00::/120'), { family: 6, last: 0xfd0000000000000000000000000000ffn })
  for (const bad of ['10.68.0.300/24', '10.68.0.0', '10.68.0.0/33', 'fe80::1%eth0/64', '010.1.1.1/24', '']) t.equal(cidrSpan(bad), undefined, bad)
})

t.test('a slice of a shared pool keeps the parent subnet and gateway; outside any range, the sub_subnet is the range', async (t) => {
  t.same(sliceOf(span('10.68.0.16/28'), [span('10.68.0.0/24')]), { subnet: '10.68.0.0/24', rangeStart: '10.68.0.16', rangeEnd: '10.68.0.31' })
  t.same(sliceOf(span('10.68.0.0/28'), [span('10.68.0.0/24')]), { subnet: '10.68.0.0/24', rangeStart: '10.68.0.1', rangeEnd: '10.68.0.15' }, 'never the parent\'s network address')
  t.same(sliceOf(span('10.68.0.240/28'), [span('10.68.0.0/24')]), { subnet: '10.68.0.0/24', rangeStart: '10.68.0.240', rangeEnd: '10.68.0.254' }, 'nor its broadcast')
  t.same(sliceOf(span('10.70.0.0/28'), [span('10.68.0.0/24')]), { subnet: '10.70.0.0/28' })
  const r = restrictIpam(shared, 'net1', '10.68.0.16/28')
  t.equal(r.name, 'net1', 'the logical network\'s name: its own host-local state and attribution')
  t.same(r.plugins[0]?.ipam, { type: 'host-local', dataDir: '/d', ranges: [[{ subnet: '10.68.0.0/24', rangeStart: '10.68.0.16', rangeEnd: '10.68.0.31' }]] })
  t.same(r.plugins[1], shared.plugins[1], 'plugins without IPAM unchanged')
  t.same(ipamRanges(shared).map((x) => x.text), ['10.68.0.0/24'])
  const wb = restrictIpam({ ...shared, plugins: [{ type: 'macvlan', ipam: { type: 'whereabouts', range: '10.68.0.0/24', range_start: '10.68.0.5' } }] } as DelegateNetwork, 'net2', '10.68.0.32/28')
  t.same(wb.plugins[0]?.ipam, { type: 'whereabouts', range: '10.68.0.0/24', range_start: '10.68.0.32', range_end: '10.68.0.47' })
  t.throws(() => restrictIpam({ ...shared, plugins: [{ type: 'macvlan', ipam: { type: 'dhcp' } }] } as DelegateNetwork, 'n', '10.68.0.0/28'), { code: 'NR_CNI_BAD_LOGICAL_NETWORK', message: /IPAM type "dhcp" cannot be limited/ })
  t.throws(() => restrictIpam({ ...shared, plugins: [{ type: 'loopback' }] } as DelegateNetwork, 'n', '10.68.0.0/28'), { code: 'NR_CNI_BAD_LOGICAL_NETWORK', message: /has no IPAM/ })
})

t.test('the resolver: one listing per ADD, 117 for a missing network, 118 with the reason for an invalid one', async (t) => {
  const gets: string[] = []
  const objects: Record<string, unknown> = {
    '/apis/alpha.network.k8s.io/v1/namespaces/shop/physicalnetworks': { items: [{ metadata: { name: 'phy', namespace: 'shop' }, spec: { sharedStaus: { dedicatedNet: false, plugin: 'nr-shared', subnet: '10.68.0.0/24' } } }] },
    '/apis/alpha.network.k8s.io/v1/namespaces/shop/logicalnetworks': { items: [
      { metadata: { name: 'net1', namespace: 'shop', creationTimestamp: '2026-01-01T00:00:00Z' }, spec: { physicalNet: 'phy', sub_subnet: '10.68.0.16/28' } },
      { metadata: { name: 'wide', namespace: 'shop', creationTimestamp: '2026-01-01T00:00:01Z' }, spec: { physicalNet: 'phy', sub_subnet: '10.68.0.0/16' } },
      { metadata: { name: 'nr-shared', namespace: 'shop', creationTimestamp: '2026-01-01T00:00:02Z' }, spec: { physicalNet: 'phy', sub_subnet: '10.68.0.64/28' } },
    ] },
  }
  const resolve = logicalResolver({ namespace: 'shop', catalog: { networks: [shared], broken: [] }, confDir: '/etc/cni/net.d', get: async (p) => { gets.push(p); return objects[p] as Record<string, unknown> | undefined } })
  const net1 = await resolve({ network: 'net1' })
  t.equal(net1.name, 'net1')
  await t.rejects(resolve({ network: 'nope' }), { code: 'NR_CNI_LOGICAL_NETWORK_NOT_FOUND', message: /shop\/nope does not exist/ })
  await t.rejects(resolve({ network: 'wide' }), { code: 'NR_CNI_BAD_LOGICAL_NETWORK', message: /does not fall under physical network phy's subnet 10\.68\.0\.0\/24/ })
  await t.rejects(resolve({ network: 'nr-shared' }), { code: 'NR_CNI_BAD_LOGICAL_NETWORK', message: /has the name of a delegate conf/ })
  t.equal(gets.length, 2, 'the two lists, once')
  const e = await resolve({ network: 'nope' }).catch((x: unknown) => x)
  t.ok(e instanceof CniError && e.cniCode === 117)
})
