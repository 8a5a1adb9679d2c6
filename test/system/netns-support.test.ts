// test/support/netns.ts: namespaces are made and removed without leftovers, names fit the
// kernel limit and do not collide, host-local's reservations are read right, and the
// CNI_PATH helper links the real plugins and the shim.
import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { execFileSync } from 'node:child_process'
import { existsSync, lstatSync, mkdirSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  bridgePorts, cleanupKernelObjects, cniPluginDir, createNetns, hostLocalAllocations, hostLocalReservations,
  leakedKernelObjects, makeCniPath, skip, skipUnlessPlugins, skipUnlessRoot, tempDir, uniqueName,
} from '../support/netns.js'

t.test('uniqueName fits the 15-character kernel limit, ends with the pid and does not repeat', async (t) => {
  const names = new Set<string>()
  for (let i = 0; i < 2000; i++) names.add(uniqueName('nrt'))
  t.equal(names.size, 2000)
  const pid = process.pid.toString(36)
  for (const n of [...names].slice(0, 50)) {
    t.ok(n.length <= 15 && n.startsWith('nrt') && n.endsWith(pid), n)
    t.match(n, /^[a-z0-9-]+$/)
  }
  t.equal(uniqueName('nrbr-').length, 15)
})

t.test('uniqueName rejects prefixes without nr, with odd characters, or too long to stay unique', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['veth', /must start with "nr"/], ['', /must start with "nr"/], ['nrBig', /use only a-z/], ['nr_x', /use only a-z/],
    ['nrabcdefghij', /too long/],
  ]
  for (const [prefix, re] of cases) t.throws(() => uniqueName(prefix), re, JSON.stringify(prefix))
  t.throws(() => leakedKernelObjects('eth'), /must start with "nr"/)
})

t.test('hostLocalReservations lists the IP files only, in the dir or one level down', async (t) => {
  const dir = tempDir(t, 'nr-hl')
  mkdirSync(join(dir, 'net-a'))
  mkdirSync(join(dir, 'net-b'))
  writeFileSync(join(dir, 'net-a', '10.1.2.2'), 'c0ffee\r\neth0')
  writeFileSync(join(dir, 'net-a', 'last_reserved_ip.0'), '10.1.2.2')
  writeFileSync(join(dir, 'net-a', 'lock'), '')
  writeFileSync(join(dir, 'net-b', 'fd00::5'), 'beef\r\nnet1')
  writeFileSync(join(dir, 'net-b', 'README'), 'not an address')
  t.same(hostLocalReservations(dir), [join(dir, 'net-a', '10.1.2.2'), join(dir, 'net-b', 'fd00::5')])
  t.same(hostLocalAllocations(dir).map(({ network, ip, containerId, ifname }) => ({ network, ip, containerId, ifname })), [
    { network: 'net-a', ip: '10.1.2.2', containerId: 'c0ffee', ifname: 'eth0' },
    { network: 'net-b', ip: 'fd00::5', containerId: 'beef', ifname: 'net1' },
  ])
  t.same(hostLocalReservations(join(dir, 'net-a')), [join(dir, 'net-a', '10.1.2.2')], 'a network dir itself works too')
  t.same(hostLocalReservations(join(dir, 'missing')), [], 'a dataDir host-local never made has no reservations')
})

t.test('tempDir is removed when its test ends and refuses odd prefixes', async (t) => {
  let made = ''
  await t.test('inner', async (t) => {
    made = tempDir(t, 'nr-tmp')
    writeFileSync(join(made, 'f'), 'x')
    t.ok(existsSync(made))
  })
  t.notOk(existsSync(made), 'gone after the inner test')
  t.throws(() => tempDir(t, '../escape'), /may only use/)
})

t.test('skip helpers end the test as skipped with the reason', async (t) => {
  const plans: Array<[number, string | undefined]> = []
  const fake = { plan: (n: number, c?: string) => { plans.push([n, c]) }, teardown: () => {} }
  skip(fake, 'because')
  t.same(plans, [[0, 'because']])
  t.equal(skipUnlessRoot(fake), process.getuid?.() !== 0)
  t.equal(skipUnlessPlugins(fake), cniPluginDir() === undefined)
})

t.test('makeCniPath links every real plugin and the shim (wrapper for JS, symlink otherwise)', async (t) => {
  if (skipUnlessPlugins(t)) return
  const pluginDir = cniPluginDir() ?? ''
  const shimJs = join(tempDir(t, 'nr-shim'), 'fake-shim.cjs')
  writeFileSync(shimJs, 'process.stdout.write(JSON.stringify({ argv: process.argv.slice(2), cmd: process.env.CNI_COMMAND }))\n')
  const dir = makeCniPath(t, { shim: shimJs })
  t.equal(realpathSync(join(dir, 'bridge')), realpathSync(join(pluginDir, 'bridge')))
  t.equal(realpathSync(join(dir, 'host-local')), realpathSync(join(pluginDir, 'host-local')))
  const out = execFileSync(join(dir, 'netrank-cni'), ['a b', "it's"], { encoding: 'utf8', env: { ...process.env, CNI_COMMAND: 'VERSION' } })
  t.same(JSON.parse(out), { argv: ['a b', "it's"], cmd: 'VERSION' }, 'the wrapper passes arguments and env through')

  const exe = join(tempDir(t, 'nr-shim'), 'netrank-cni-sea')
  writeFileSync(exe, '#!/bin/sh\necho sea\n', { mode: 0o755 })
  const dir2 = makeCniPath(t, { shim: exe })
  t.ok(lstatSync(join(dir2, 'netrank-cni')).isSymbolicLink())
  t.equal(readlinkSync(join(dir2, 'netrank-cni')), exe)
  t.notOk(existsSync(join(makeCniPath(t), 'netrank-cni')), 'no shim asked, none linked')
  t.throws(() => makeCniPath(t, { shim: '/nonexistent/netrank-cni.cjs' }), /does not exist; run `npm run build`/)
})

t.test('a netns is created with loopback up, runs commands, and leaves nothing after remove', async (t) => {
  if (skipUnlessRoot(t)) return
  const prefix = 'nrtsup'
  const ns = createNetns(prefix)
  t.teardown(() => { ns.remove(); cleanupKernelObjects(prefix) })
  t.equal(ns.path, `/var/run/netns/${ns.name}`)
  t.ok(existsSync(ns.path))
  t.same(leakedKernelObjects(prefix).netns, [ns.name])

  const lo = ns.addresses().find((a) => a.ifname === 'lo')
  t.ok(lo?.flags?.includes('UP'), 'loopback is up')
  t.ok(lo?.addr_info.some((a) => a.family === 'inet' && a.local === '127.0.0.1'))
  t.same(ns.addresses().map((a) => a.ifname), ['lo'], 'nothing else inside a fresh netns')

  const ok = await ns.exec('sh', ['-c', 'echo out; echo err >&2; exit 3'])
  t.same(ok, { code: 3, stdout: 'out\n', stderr: 'err\n' }, 'a non-zero exit is a result, not an exception')
  const links = await ns.exec('ip', ['-j', 'link', 'show'])
  t.same(JSON.parse(links.stdout).map((l: { ifname: string }) => l.ifname), ['lo'], 'exec runs inside the netns')
  const missing = await ns.exec('/nonexistent-binary')
  t.not(missing.code, 0)

  // A bridge and a veth pair with one end inside: what the CNI tests build.
  const br = uniqueName(prefix)
  const veth = uniqueName(prefix)
  execFileSync('ip', ['link', 'add', br, 'type', 'bridge'])
  execFileSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name])
  execFileSync('ip', ['link', 'set', veth, 'master', br])
  t.same(bridgePorts(br), [veth])
  t.same(leakedKernelObjects(prefix).links, [br, veth].sort())
  t.ok(ns.addresses().some((a) => a.ifname === 'eth0'))

  ns.remove()
  ns.remove() // idempotent
  t.notOk(existsSync(ns.path))
  // the kernel destroys the netns, and the veth with it, asynchronously after the last
  // reference goes: wait (up to 5 s) for the veth to go rather than read a moment too early
  for (let i = 0; i < 100 && leakedKernelObjects(prefix).links.length > 1; i++) await sleep(50)
  t.same(leakedKernelObjects(prefix), { netns: [], links: [br] }, 'the veth went with the netns; the bridge is ours to delete')
  cleanupKernelObjects(prefix)
  t.same(leakedKernelObjects(prefix), { netns: [], links: [] })
  t.same(bridgePorts(br), [], 'a bridge that is gone has no ports')
})
