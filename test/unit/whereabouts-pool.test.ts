import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { whereaboutsOccupancy, whereaboutsRanges } from '../../collectors/ipam/whereabouts-pool.js'
import type { IpPoolObject, WhereaboutsIpamConf } from '../../collectors/ipam/whereabouts-pool.js'
import { poolRanges } from '../../collectors/ipam/pool-ranges.js'

const fx = (name: string): string => readFileSync(new URL(`../fixtures/ipam/${name}`, import.meta.url), 'utf8')
const EXCLUDE_CONF = JSON.parse(fx('whereabouts_netconf_range-exclude_readme.json')) as { ipam: WhereaboutsIpamConf }
const DUAL_CONF = JSON.parse(fx('whereabouts_netconf_ipRanges-dualstack_readme.json')) as { ipam: WhereaboutsIpamConf }

// IPPool objects below are MADE BY US in the shape of the real CRD (test/fixtures/ipam/whereabouts_ippools-crd-schema.yaml):
// no populated IPPool exists as repository data.
function pool (range: string, offsets: string[], name = `${range.replace(/[/:]/g, '-')}`): IpPoolObject {
  return {
    metadata: { name, namespace: 'kube-system' },
    spec: { range, allocations: Object.fromEntries(offsets.map((o, i) => [o, { id: `ctr${i}`, podref: `default/pod-${i}`, ifname: 'net1' }])) },
  }
}

t.test('the pools we build have the fields the real CRD requires', async t => {
  const crd = parseYaml(fx('whereabouts_ippools-crd-schema.yaml')) as { spec: { versions: Array<{ schema: { openAPIV3Schema: { properties: { spec: { required: string[], properties: { allocations: { additionalProperties: { required: string[] } } } } } } } }> } }
  const spec = crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec
  t.same(spec?.required, ['allocations', 'range'])
  t.same(spec?.properties.allocations.additionalProperties.required, ['id', 'podref'])
  const p = pool('192.168.2.224/28', ['1'])
  t.ok(p.spec?.range !== undefined && p.spec.allocations !== undefined)
  t.ok(Object.values(p.spec?.allocations ?? {}).every((a) => a?.id !== undefined && a.podref !== undefined))
})

t.test('README range/exclude conf: capacity 9, allocations counted by offset from the network address', async t => {
  // 192.168.2.224/28: .225–.238 = 14, minus .228–.231 and .236 → 9
  // offsets 1..3 → .225–.227 (allocatable); 12 → .236 (excluded: counted apart)
  const occ = whereaboutsOccupancy(EXCLUDE_CONF.ipam, [pool('192.168.2.224/28', ['1', '2', '3', '12']), pool('10.0.0.0/24', ['1'])])
  t.same(occ, {
    used: 3, capacity: 9,
    ranges: [{ range: '192.168.2.225/28', used: 3, capacity: 9, poolMissing: false, outside: 1, invalid: 0 }],
    perRange: [{ set: 0, subnet: '192.168.2.224/28', range: '192.168.2.225-192.168.2.238', used: 3, capacity: 9, free: 6 }],
  })
})

t.test('no pool yet means nothing allocated', async t => {
  t.same(whereaboutsOccupancy(EXCLUDE_CONF.ipam, []), {
    used: 0, capacity: 9,
    ranges: [{ range: '192.168.2.225/28', used: 0, capacity: 9, poolMissing: true, outside: 0, invalid: 0 }],
    perRange: [{ set: 0, subnet: '192.168.2.224/28', range: '192.168.2.225-192.168.2.238', used: 0, capacity: 9, free: 9 }],
  })
})

t.test('README ipRanges dual-stack conf: one pool per range, totals summed', async t => {
  t.same(whereaboutsRanges(DUAL_CONF.ipam).map((r) => r.range), ['192.168.10.1/24', '176.168.10.1/16', 'abcd::1/64'])
  const occ = whereaboutsOccupancy(DUAL_CONF.ipam, [
    pool('192.168.10.0/24', ['1', '2']),
    pool('176.168.0.0/16', ['1', '65535', 'x', '70000']), // 65535 = broadcast (outside), x and 70000 invalid
    pool('abcd::/64', ['1', '18446744073709551614']), // the last usable IPv6 offset, past 2^53
  ])
  t.same(occ.ranges.map((r) => [r.range, r.used, r.capacity, r.outside, r.invalid]), [
    ['192.168.10.1/24', 2, 254, 0, 0],
    ['176.168.10.1/16', 1, 65534, 1, 2],
    ['abcd::1/64', 2, 2 ** 64 - 2, 0, 0],
  ])
  t.equal(occ.used, 5)
  // each ipRanges entry is a set (whereabouts takes one address from each): the tightest has 252 left
  const p = poolRanges(occ.perRange)
  t.same(occ.perRange.map((r) => [r.set, r.subnet, r.free]), [[0, '192.168.10.0/24', 252], [1, '176.168.0.0/16', 65533], [2, 'abcd::/64', 2 ** 64 - 4]])
  t.equal(p.subnets, 3)
  t.equal(p.free, 252, 'ipFree is the tightest set, not the sum')
})

t.test('network_name selects that network’s pools among pools of the same range', async t => {
  const ipam: WhereaboutsIpamConf = { range: '10.5.0.0/24', network_name: 'blue' }
  const occ = whereaboutsOccupancy(ipam, [pool('10.5.0.0/24', ['1', '2', '3'], 'red-10.5.0.0-24'), pool('10.5.0.0/24', ['9'], 'blue-10.5.0.0-24')])
  t.equal(occ.used, 1)
})

t.test('bad confs are refused with the field', async t => {
  t.throws(() => whereaboutsOccupancy({}, []), /needs "range" or "ipRanges"/)
  t.throws(() => whereaboutsOccupancy({ ipRanges: [{} as never] }, []), /ipRanges\[0\] needs a "range"/)
  t.throws(() => whereaboutsOccupancy({ range: '10.0.0.0/40' }, []), /bad prefix length/)
})
