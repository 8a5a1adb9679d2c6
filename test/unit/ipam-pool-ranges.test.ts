// ipSubnets and ipFree: a pool range by range. An ADD takes one address from every range
// set, any range of a set will do: the free addresses the next pods can get are the
// tightest set's, never the pool's sum.
import t from 'tap'
import { poolRanges, rangeOccupancy } from '../../collectors/ipam/pool-ranges.js'
import { hostLocalRanges, perRange } from '../../collectors/ipam/host-local-state.js'

t.test('one set of two ranges: free adds up; two sets: the tightest set counts', async t => {
  const a = rangeOccupancy(0, { subnet: '10.0.0.0/24', range: '10.0.0.1-10.0.0.254' }, 250, 253)
  const b = rangeOccupancy(0, { subnet: '10.0.1.0/24', range: '10.0.1.1-10.0.1.254' }, 3, 253)
  t.same(poolRanges([a, b]), { subnets: 2, free: 3 + 250, ranges: [a, b] }, 'one set: any range will do')
  const v6 = rangeOccupancy(1, { subnet: 'fd00::/64', range: 'fd00::1-fd00::ffff:ffff:ffff:ffff' }, 250, 2 ** 64 - 1)
  const fullV4 = rangeOccupancy(0, { subnet: '10.0.0.0/24', range: '10.0.0.1-10.0.0.254' }, 253, 253)
  t.equal(poolRanges([fullV4, v6]).free, 0, 'dual-stack with IPv4 exhausted: 0, whatever IPv6 has left')
  t.equal(poolRanges([fullV4, v6]).subnets, 2)
})

t.test('two ranges of one subnet are one subnet; an over-full range has 0 free, not a negative count', async t => {
  const lo = rangeOccupancy(0, { subnet: '10.0.0.0/24', range: '10.0.0.10-10.0.0.19' }, 12, 10)
  const hi = rangeOccupancy(0, { subnet: '10.0.0.0/24', range: '10.0.0.100-10.0.0.109' }, 1, 10)
  t.equal(lo.free, 0, 'used beyond capacity (a conf shrunk under live allocations) leaves nothing')
  t.same(poolRanges([lo, hi]), { subnets: 1, free: 9, ranges: [lo, hi] })
  t.same(poolRanges([]), { subnets: 0, free: 0, ranges: [] }, 'no range: nothing free')
})

t.test('host-local ranges keep their set; perRange names subnet and range as host-local canonicalises them', async t => {
  const ranges = hostLocalRanges({ ranges: [[{ subnet: '10.1.0.0/28' }, { subnet: '10.1.1.0/28', rangeStart: '10.1.1.5', rangeEnd: '10.1.1.9' }], [{ subnet: 'fd01::/120' }]] })
  t.same(ranges.map((r) => r.set), [0, 0, 1])
  t.same(perRange(ranges, [13, 2, 7]), [
    { set: 0, subnet: '10.1.0.0/28', range: '10.1.0.1-10.1.0.14', used: 13, capacity: 13, free: 0 },
    { set: 0, subnet: '10.1.1.0/28', range: '10.1.1.5-10.1.1.9', used: 2, capacity: 5, free: 3 },
    { set: 1, subnet: 'fd01::/120', range: 'fd01::1-fd01::ff', used: 7, capacity: 254, free: 247 },
  ])
  t.equal(poolRanges(perRange(ranges, [13, 2, 7])).free, 3, 'set 0 has 3 left in its second range')
  t.same(hostLocalRanges({ subnet: '10.2.0.0/24' }).map((r) => r.set), [0], 'the legacy single subnet is set 0')
})
