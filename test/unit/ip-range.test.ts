import t from 'tap'
import { cidrContains, cidrSize, formatIp, hostLocalRange, parseCidr, parseIp, rangeSize, tryParseIp, whereaboutsAllocatable, whereaboutsRange } from '../../collectors/ipam/ip-range.js'

t.test('IPv4 and IPv6 addresses parse to their integer and format back as Go prints them', async t => {
  const cases: Array<[string, 4 | 6, bigint, string]> = [
    ['10.1.2.3', 4, 0x0a010203n, '10.1.2.3'],
    ['255.255.255.255', 4, 0xffffffffn, '255.255.255.255'],
    ['::', 6, 0n, '::'],
    ['::1', 6, 1n, '::1'],
    ['3ffe:ffff:0:01ff::0010', 6, 0x3ffeffff000001ff0000000000000010n, '3ffe:ffff:0:1ff::10'],
    ['2001:db8:0:0:1:0:0:1', 6, 0x20010db8000000000001000000000001n, '2001:db8::1:0:0:1'],
    ['::ffff:192.168.1.1', 6, 0xffffc0a80101n, '::ffff:c0a8:101'],
    ['FD00::A', 6, 0xfd00000000000000000000000000000an, 'fd00::a'],
    ['::1.2.3.4', 6, 0x01020304n, '::102:304'], // IPv4-compatible, not mapped (as Go reads it)
    ['64:ff9b::1.2.3.4', 6, 0x0064ff9b000000000000000001020304n, '64:ff9b::102:304'],
    ['1:0:2:3:4:5:6:7', 6, 0x00010000000200030004000500060007n, '1:0:2:3:4:5:6:7'], // one zero group stays
  ]
  for (const [s, family, value, back] of cases) {
    t.same(parseIp(s), { family, value }, s)
    t.equal(formatIp({ family, value }), back, `${s} formats as ${back}`)
  }
})

t.test('bad addresses and CIDRs are refused naming the input', async t => {
  for (const bad of ['', '1.2.3', '1.2.3.256', '01.2.3.4', '1.2.3.4.5', '1::2::3', '12345::', 'g::1', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', '1.2.3.4/24', ' ']) {
    t.throws(() => parseIp(bad), { message: new RegExp(`not an IPv4 or IPv6 address: ${JSON.stringify(bad).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`) }, bad)
    t.equal(tryParseIp(bad), undefined)
  }
  t.throws(() => parseCidr('10.0.0.0'), /no \/prefix/)
  t.throws(() => parseCidr('10.0.0.0/33'), /bad prefix length.*0–32 for IPv4/)
  t.throws(() => parseCidr('fd00::/129'), /0–128 for IPv6/)
})

t.test('CIDR size and containment; host bits are cleared from the network', async t => {
  const c = parseCidr('192.168.2.225/28')
  t.equal(formatIp({ family: 4, value: c.network }), '192.168.2.224')
  t.equal(cidrSize(c), 16n)
  t.ok(cidrContains(c, parseIp('192.168.2.239')))
  t.notOk(cidrContains(c, parseIp('192.168.2.240')))
  t.notOk(cidrContains(c, parseIp('::1')), 'other family')
  t.equal(cidrSize(parseCidr('fd00::/64')), 2n ** 64n)
})

t.test('host-local ranges follow Canonicalize: defaults, gateway skipped, too-small networks refused', async t => {
  const cases: Array<{ conf: Parameters<typeof hostLocalRange>[0], first: string, last: string, usable: bigint }> = [
    // /24: .1–.254, gateway .1 (default) inside → 253
    { conf: { subnet: '10.1.2.0/24' }, first: '10.1.2.1', last: '10.1.2.254', usable: 253n },
    // the cni.dev example: rangeStart/rangeEnd with the gateway outside them
    { conf: { subnet: '10.10.0.0/16', rangeStart: '10.10.1.20', rangeEnd: '10.10.3.50', gateway: '10.10.0.254' }, first: '10.10.1.20', last: '10.10.3.50', usable: 2n * 256n + 31n },
    { conf: { subnet: '172.16.5.0/24' }, first: '172.16.5.1', last: '172.16.5.254', usable: 253n },
    // IPv6: the last address is usable (no broadcast)
    { conf: { subnet: '3ffe:ffff:0:01ff::/64', rangeStart: '3ffe:ffff:0:01ff::0010', rangeEnd: '3ffe:ffff:0:01ff::0020' }, first: '3ffe:ffff:0:1ff::10', last: '3ffe:ffff:0:1ff::20', usable: 17n },
    { conf: { subnet: 'fd00::/125' }, first: 'fd00::1', last: 'fd00::7', usable: 6n },
    { conf: { subnet: '10.0.0.0/30' }, first: '10.0.0.1', last: '10.0.0.2', usable: 1n },
    { conf: { subnet: '10.0.0.0/29', gateway: '10.0.0.7' }, first: '10.0.0.1', last: '10.0.0.6', usable: 6n },
  ]
  for (const c of cases) {
    const r = hostLocalRange(c.conf)
    t.equal(formatIp({ family: r.range.family, value: r.range.first }), c.first, `${c.conf.subnet} first`)
    t.equal(formatIp({ family: r.range.family, value: r.range.last }), c.last, `${c.conf.subnet} last`)
    t.equal(r.usable, c.usable, `${c.conf.subnet} usable`)
    t.equal(rangeSize(r.range) - r.usable <= 1n, true)
  }
  t.throws(() => hostLocalRange({ subnet: '10.0.0.0/31' }), /too small to allocate from/)
  t.throws(() => hostLocalRange({ subnet: 'fd00::/127' }), /too small/)
  t.throws(() => hostLocalRange({ subnet: '10.0.0.0/24', gateway: '10.0.1.1' }), /gateway 10\.0\.1\.1 is not in the subnet/)
  t.throws(() => hostLocalRange({ subnet: '10.0.0.0/24', rangeStart: '10.0.0.9', rangeEnd: '10.0.0.3' }), /rangeEnd 10\.0\.0\.3 is before rangeStart/)
  t.throws(() => hostLocalRange({ subnet: '10.0.0.0/24', rangeEnd: '10.0.2.3' }), /rangeEnd .* not in the subnet/)
  t.throws(() => hostLocalRange({} as never), /needs a "subnet"/)
})

t.test('whereabouts ranges: network and broadcast out, exclude blocks masked, start/end honoured', async t => {
  // The README example: 192.168.2.225/28 minus 192.168.2.229/30 (.228–.231) and .236/32
  const r = whereaboutsRange({ range: '192.168.2.225/28', exclude: ['192.168.2.229/30', '192.168.2.236/32'] })
  t.equal(formatIp({ family: 4, value: r.range.first }), '192.168.2.225')
  t.equal(formatIp({ family: 4, value: r.range.last }), '192.168.2.238')
  t.equal(r.usable, 14n - 4n - 1n)
  t.notOk(whereaboutsAllocatable(r, parseIp('192.168.2.228')), 'masked exclude block starts at .228')
  t.ok(whereaboutsAllocatable(r, parseIp('192.168.2.227')))
  t.notOk(whereaboutsAllocatable(r, parseIp('192.168.2.236')))
  t.notOk(whereaboutsAllocatable(r, parseIp('192.168.2.239')), 'broadcast')
  const dash = whereaboutsRange({ range: '192.168.2.225-192.168.2.230/28' })
  t.equal(dash.usable, 6n)
  const se = whereaboutsRange({ range: '10.0.0.0/24', range_start: '10.0.0.100', range_end: '10.0.0.109', exclude: ['10.0.0.105', '10.0.0.104/31', '10.0.0.0/30'] })
  t.equal(se.usable, 10n - 2n, 'overlapping excludes count once, excludes outside the range not at all')
  t.equal(whereaboutsRange({ range: 'abcd::1/64' }).usable, 2n ** 64n - 2n)
  t.throws(() => whereaboutsRange({ range: '10.0.0.0/24', range_start: '10.0.1.1' }), /range_start 10\.0\.1\.1 is not in the subnet/)
  t.throws(() => whereaboutsRange({} as never), /needs a "range"/)
})
