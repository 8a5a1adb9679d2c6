// host-local occupancy read from state written by the REAL host-local plugin
// (/usr/lib/cni/host-local from Debian's containernetworking-plugins), run as the
// container runtime would run it for IPAM: CNI_COMMAND=ADD/DEL, the conf on stdin.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hostLocalCapacity, readHostLocalOccupancy } from '../../collectors/ipam/host-local-state.js'
import type { HostLocalIpamConf } from '../../collectors/ipam/host-local-state.js'

const PLUGIN = '/usr/lib/cni/host-local'
const canRun = process.getuid?.() === 0 && existsSync(PLUGIN)
const skip = canRun ? false : `needs root and ${PLUGIN}`

interface Run { code: number | null, stdout: string, stderr: string }

function hostLocal (command: 'ADD' | 'DEL', network: string, ipam: HostLocalIpamConf, containerId: string): Run {
  const conf = { cniVersion: '1.0.0', name: network, type: 'bridge', ipam: { type: 'host-local', ...ipam } }
  const r = spawnSync(PLUGIN, [], {
    input: JSON.stringify(conf),
    env: { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: '/proc/self/ns/net', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
    encoding: 'utf8',
    timeout: 10_000,
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

async function stateDir (t: { teardown: (fn: () => unknown) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nr-hostlocal-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

t.test('rangeStart/rangeEnd: the real plugin hands out exactly the computed capacity, used follows ADD and DEL', { skip }, async t => {
  const dataDir = await stateDir(t)
  // 10.99.0.0/29: hosts .1–.6; range .2–.5; the default gateway .1 lies outside → 4
  const ipam: HostLocalIpamConf = { ranges: [[{ subnet: '10.99.0.0/29', rangeStart: '10.99.0.2', rangeEnd: '10.99.0.5' }]], dataDir }
  t.equal(hostLocalCapacity(ipam), 4)
  t.match(await readHostLocalOccupancy('nr-hl-a', ipam), { used: 0, capacity: 4, missing: true })
  for (let i = 1; i <= 3; i++) {
    const r = hostLocal('ADD', 'nr-hl-a', ipam, `ctr-${i}`)
    t.equal(r.code, 0, `ADD ${i}: ${r.stderr || r.stdout}`)
  }
  const three = await readHostLocalOccupancy('nr-hl-a', ipam)
  t.match(three, { used: 3, capacity: 4, outside: 0, missing: false })
  const files = await readdir(join(dataDir, 'nr-hl-a'))
  t.ok(files.includes('lock') && files.includes('last_reserved_ip.0'), `state dir holds lock and last_reserved_ip.0 too: ${files.join(' ')}`)
  t.equal(hostLocal('ADD', 'nr-hl-a', ipam, 'ctr-4').code, 0)
  const full = hostLocal('ADD', 'nr-hl-a', ipam, 'ctr-5')
  t.not(full.code, 0, 'the fifth ADD fails: the pool is exhausted at the capacity we computed')
  t.match(full.stdout + full.stderr, /no IP addresses available/)
  t.match(await readHostLocalOccupancy('nr-hl-a', ipam), { used: 4, capacity: 4 })
  t.equal(hostLocal('DEL', 'nr-hl-a', ipam, 'ctr-2').code, 0)
  t.match(await readHostLocalOccupancy('nr-hl-a', ipam), { used: 3, capacity: 4 })
})

t.test('multi-range, dual-stack conf: capacity over all ranges of all sets matches what the plugin allocates', { skip }, async t => {
  const dataDir = await stateDir(t)
  // v4 set: 10.98.0.0/29 with gateway .6 → .1–.5 = 5; 10.98.1.0/30 → .2 only = 1; total 6
  // v6 set: fd00:98::/125 → ::1–::7 minus gateway ::1 = 6
  const ipam: HostLocalIpamConf = {
    ranges: [[{ subnet: '10.98.0.0/29', gateway: '10.98.0.6' }, { subnet: '10.98.1.0/30' }], [{ subnet: 'fd00:98::/125' }]],
    dataDir,
  }
  t.equal(hostLocalCapacity(ipam), 12)
  for (let i = 1; i <= 6; i++) {
    const r = hostLocal('ADD', 'nr-hl-b', ipam, `ctr-${i}`)
    t.equal(r.code, 0, `ADD ${i}: ${r.stderr || r.stdout}`)
  }
  // each ADD takes one address from each range set
  t.match(await readHostLocalOccupancy('nr-hl-b', ipam), { used: 12, capacity: 12, outside: 0 })
  t.not(hostLocal('ADD', 'nr-hl-b', ipam, 'ctr-7').code, 0, 'the seventh ADD finds both sets full')
  const files = await readdir(join(dataDir, 'nr-hl-b'))
  t.ok(files.includes('10.98.1.2'), 'the second v4 range was used')
  t.ok(files.some((f) => f.startsWith('fd00:98::')), 'IPv6 address files')
  for (let i = 1; i <= 2; i++) t.equal(hostLocal('DEL', 'nr-hl-b', ipam, `ctr-${i}`).code, 0)
  t.match(await readHostLocalOccupancy('nr-hl-b', ipam), { used: 8, capacity: 12 })
})

t.test('legacy top-level subnet form', { skip }, async t => {
  const dataDir = await stateDir(t)
  const ipam: HostLocalIpamConf = { subnet: '10.97.0.0/29', dataDir } // .2–.6 (gateway .1) = 5
  t.equal(hostLocalCapacity(ipam), 5)
  for (let i = 1; i <= 5; i++) t.equal(hostLocal('ADD', 'nr-hl-c', ipam, `ctr-${i}`).code, 0, `ADD ${i}`)
  t.not(hostLocal('ADD', 'nr-hl-c', ipam, 'ctr-6').code, 0)
  t.match(await readHostLocalOccupancy('nr-hl-c', ipam), { used: 5, capacity: 5 })
})

t.test('the cni.dev example conf: capacity of both range sets', async t => {
  const conf = JSON.parse(readFileSync(new URL('../fixtures/ipam/host-local_netconf_multi-ranges-rangeStart-rangeEnd-dataDir_cni-dev-doc.json', import.meta.url), 'utf8')) as { ipam: HostLocalIpamConf }
  // 10.10.1.20–10.10.3.50 (gateway 10.10.0.254 outside) = 543; 172.16.5.0/24 = 253; ::10–::20 = 17
  t.equal(hostLocalCapacity(conf.ipam), 543 + 253 + 17)
})

t.test('files outside the ranges, lock files and junk are not counted as used', async t => {
  const dataDir = await stateDir(t)
  const dir = join(dataDir, 'nr-hl-d')
  await mkdir(dir)
  for (const f of ['10.96.0.2', '10.96.0.3', '10.200.0.9', 'lock', 'last_reserved_ip.0', 'README', '10.96.0.1']) await writeFile(join(dir, f), 'ctr\r\neth0')
  const occ = await readHostLocalOccupancy('nr-hl-d', { ranges: [[{ subnet: '10.96.0.0/24' }]], dataDir })
  t.match(occ, { used: 2, outside: 2, capacity: 253 }, '.1 is the gateway, 10.200.0.9 another subnet')
})

t.test('bad confs and network names are refused with the field', async t => {
  await t.rejects(readHostLocalOccupancy('../etc', { subnet: '10.0.0.0/24' }), /bad network name/)
  t.throws(() => hostLocalCapacity({}), /needs "ranges"/)
  t.throws(() => hostLocalCapacity({ ranges: [[]] }), /ranges\[0\] must be a non-empty array/)
  t.throws(() => hostLocalCapacity({ ranges: [[{ subnet: '10.0.0.0/24' }, { subnet: '10.0.1.0/33' }]] }), /ranges\[0\]\[1\]: bad prefix length/)
})
