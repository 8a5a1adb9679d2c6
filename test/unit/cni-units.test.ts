// netrank-cni's pure parts: the error registry, env and CNI_ARGS parsing, annotation
// parsing and precedence, interface naming, version gates and result conversion, result
// merging, the status annotations, the agent answer check and the attachment record file.
import t from 'tap'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errors, CniError, toErrorJson } from '../../cni/errors.js'
import { parseCniArgs, readEnv } from '../../cni/env.js'
import { parseCniAnnotation, parseNetworksAnnotation, readPodRequest } from '../../cni/annotations.js'
import { assignIfnames, assignNadIfnames } from '../../cni/choose-networks.js'
import { convertResult, normalizeResult, verbAllowed, compareVersions, type CniResult } from '../../cni/versions.js'
import { mergeResults } from '../../cni/merge-result.js'
import { statusAnnotations } from '../../cni/pod-status-patch.js'
import { validateSelectAnswer } from '../../contract/select-api.js'
import { RECORD_FORMAT, readAttachmentRecords, readRecord, recordPath, removeRecord, writeRecord, type AttachmentRecord } from '../../contract/attachment-record.js'
import { normalizeNetwork } from '../../cni/delegate-conf.js'
import { buildPluginConf } from '../../cni/delegate-network.js'
import { compareWithPrevResult } from '../../cni/cmd-check.js'

t.test('every registry key equals its code, and codes of 100 and up are unique', async (t) => {
  const own = new Map<number, string>()
  for (const [key, spec] of Object.entries(errors)) {
    t.equal(spec.code, key)
    t.ok(Number.isInteger(spec.cniCode) && spec.cniCode > 0, `${key} has a positive CNI code`)
    if (spec.cniCode >= 100) {
      t.notOk(own.has(spec.cniCode), `${key}: ${spec.cniCode} is not also ${own.get(spec.cniCode)}`)
      own.set(spec.cniCode, key)
    }
  }
  const e = new CniError('NR_CNI_DECODE', 'stdin is not JSON')
  t.same(toErrorJson(e, '1.0.0'), { cniVersion: '1.0.0', code: 6, msg: 'failed to decode stdin: stdin is not JSON', details: 'NR_CNI_DECODE: stdin is not JSON' })
})

t.test('readEnv requires the variables each verb needs and validates ids and names', async (t) => {
  const full = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'abc', CNI_NETNS: '/var/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/a:/b' }
  const env = readEnv(full)
  t.same(env.path, ['/a', '/b'])
  t.equal(env.command, 'ADD')
  const cases: Array<[string, Record<string, string>, RegExp]> = [
    ['no CNI_COMMAND', {}, /CNI_COMMAND is not set/],
    ['unknown verb', { CNI_COMMAND: 'FROB' }, /unknown CNI_COMMAND/],
    ['ADD without netns', { ...full, CNI_NETNS: '' }, /ADD needs CNI_NETNS/],
    ['CHECK without ifname', { ...full, CNI_COMMAND: 'CHECK', CNI_IFNAME: '' }, /CHECK needs CNI_IFNAME/],
    ['DEL without path', { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0' }, /DEL needs CNI_PATH/],
    ['GC without path', { CNI_COMMAND: 'GC' }, /GC needs CNI_PATH/],
    ['container id with a slash', { ...full, CNI_CONTAINERID: '../etc' }, /CNI_CONTAINERID/],
    ['ifname too long', { ...full, CNI_IFNAME: 'a-very-long-ifname' }, /not a valid interface name/],
    ['ifname with a slash', { ...full, CNI_IFNAME: 'e/0' }, /not a valid interface name/],
    ['CNI_ARGS pair without =', { ...full, CNI_ARGS: 'IgnoreUnknown=1;oops' }, /not KEY=VALUE/],
  ]
  for (const [label, e, re] of cases) {
    t.throws(() => readEnv(e), { name: 'CniError', cniCode: 4, message: re }, label)
  }
  t.same(readEnv({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'a', CNI_IFNAME: 'eth0', CNI_PATH: '/x' }).netns, '', 'DEL may omit CNI_NETNS')
  t.same(parseCniArgs('IgnoreUnknown=1;K8S_POD_NAME=p;X=a=b'), { IgnoreUnknown: '1', K8S_POD_NAME: 'p', X: 'a=b' })
})

t.test('the cni annotation: names, @ifname, duplicates allowed, blank means smart', async (t) => {
  t.same(parseCniAnnotation('weave,canal'), [{ network: 'weave' }, { network: 'canal' }])
  t.same(parseCniAnnotation(' flannel@eth1 , weave,weave'), [{ network: 'flannel', ifname: 'eth1' }, { network: 'weave' }, { network: 'weave' }])
  t.same(parseCniAnnotation('  '), [])
  for (const bad of ['a,,b', 'a@', 'a@too-long-interface-name', '@eth1', 'a b', 'x@e/1']) {
    t.throws(() => parseCniAnnotation(bad), { name: 'CniError', cniCode: 101 }, JSON.stringify(bad))
  }
})

t.test('the networks annotation: [ns/]name[@ifname] lists and the JSON form', async (t) => {
  t.same(parseNetworksAnnotation('a, other/b@net5', 'pods'), [{ name: 'a', namespace: 'pods' }, { name: 'b', namespace: 'other', ifname: 'net5' }])
  t.same(parseNetworksAnnotation('[{"name":"a"},{"name":"b","namespace":"x","interface":"blue"}]', 'pods'),
    [{ name: 'a', namespace: 'pods' }, { name: 'b', namespace: 'x', ifname: 'blue' }])
  const bad: Array<[string, RegExp]> = [
    ['a//b', /more than one|DNS-1123/], ['a/b/c', /more than one/], ['Upper', /DNS-1123/], ['[{"name":1}]', /"name" string/],
    ['[{"name":"a"', /not valid JSON/], ['{"name":"a"}', /DNS-1123/], ['[]', /empty/], ['a,', /empty entry/],
    ['[{"name":"a","interface":"x/y"}]', /interface name/], ['["a"]', /must be an object/],
  ]
  for (const [value, re] of bad) t.throws(() => parseNetworksAnnotation(value, 'pods'), { name: 'CniError', cniCode: 101, message: re }, value)
})

t.test('netrank.io/expected-bandwidth goes to the agent as written (trimmed, cut to 256 characters), only when the agent is asked', async (t) => {
  const bw = 'netrank.io/expected-bandwidth'
  const smart = readPodRequest({ cni: '', [bw]: ' 200M ' }, 'ns')
  t.same(smart, { mode: 'smart', profile: undefined, expectedBandwidth: '200M' })
  t.same(readPodRequest({ [bw]: '{"rx":"1G","tx":"100M"}' }, 'ns'), { mode: 'default', profile: undefined, expectedBandwidth: '{"rx":"1G","tx":"100M"}' }, 'cni missing: the default may be smart selection')
  t.equal((readPodRequest({ cni: '', [bw]: '   ' }, 'ns') as { expectedBandwidth?: string }).expectedBandwidth, undefined, 'blank: none')
  t.equal((readPodRequest({ cni: '', [bw]: 'fast' }, 'ns') as { expectedBandwidth?: string }).expectedBandwidth, 'fast', 'not parsed here: the agent says why it ignores it, the pod is never failed for it')
  t.equal((readPodRequest({ cni: '', [bw]: '9'.repeat(5000) }, 'ns') as { expectedBandwidth?: string }).expectedBandwidth?.length, 256, 'an overlong value is cut to what the agent accepts')
  t.notOk('expectedBandwidth' in readPodRequest({ cni: 'a', [bw]: '1G' }, 'ns'), 'explicit networks: nothing to select')
})

t.test('annotation precedence: networks, then cni missing (default), listed (explicit), blank (smart)', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ 'k8s.v1.cni.cncf.io/networks': 'a', cni: 'b' }, 'nad'],
    [{ 'k8s.v1.cni.cncf.io/networks': ' ', cni: 'b' }, 'explicit'],
    [{}, 'default'],
    [{ cni: 'b' }, 'explicit'],
    [{ cni: '' }, 'smart'],
    [{ cni: '  ' }, 'smart'],
  ]
  for (const [ann, mode] of cases) t.equal(readPodRequest(ann, 'default').mode, mode, JSON.stringify(ann))
  t.equal(readPodRequest({ cni: '', 'netrank.io/profile': ' latency ' }, 'ns').profile, 'latency')
})

t.test('interface names: CNI_IFNAME first, then eth1, eth2… skipping explicit ones; repeats are code 102', async (t) => {
  t.same(assignIfnames([undefined, undefined, undefined], 'eth0'), ['eth0', 'eth1', 'eth2'])
  t.same(assignIfnames([undefined, 'eth1', undefined], 'eth0'), ['eth0', 'eth1', 'eth2'])
  t.same(assignIfnames(['eth0', undefined], 'eth0'), ['eth0', 'eth1'])
  t.same(assignIfnames(['net7', undefined], 'eth0'), ['net7', 'eth0'])
  t.same(assignIfnames([undefined, undefined], 'pod'), ['pod', 'pod1'])
  t.throws(() => assignIfnames(['eth3', 'eth3'], 'eth0'), { name: 'CniError', cniCode: 102 })
  t.same(assignNadIfnames([undefined, 'blue', undefined], 'eth0'), ['net1', 'blue', 'net3'])
  t.throws(() => assignNadIfnames(['eth0'], 'eth0'), { name: 'CniError', cniCode: 102 }, 'eth0 belongs to the default network')
  t.throws(() => assignNadIfnames(['net2', undefined], 'eth0'), { name: 'CniError', cniCode: 102 }, 'an explicit net2 clashes with the second auto name')
})

t.test('verb gates: CHECK from 0.4.0, STATUS and GC from 1.1.0', async (t) => {
  const table: Array<[string, string, boolean]> = [
    ['CHECK', '0.3.1', false], ['CHECK', '0.4.0', true], ['STATUS', '1.0.0', false], ['STATUS', '1.1.0', true],
    ['GC', '1.0.0', false], ['GC', '1.1.0', true], ['ADD', '0.3.0', true], ['DEL', '0.3.0', true],
  ]
  for (const [verb, v, allowed] of table) t.equal(verbAllowed(verb as 'ADD', v), allowed, `${verb} in ${v}`)
  t.ok(compareVersions('0.10.0', '0.4.0') > 0)
})

t.test('results convert to each cniVersion: ips[].version below 1.0.0, no 1.1.0-only fields below 1.1.0', async (t) => {
  const r: CniResult = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'eth0', sandbox: '/n', socketPath: '/s' }],
    ips: [{ address: '10.0.0.2/24', gateway: '10.0.0.1', interface: 0 }, { address: 'fd00::2/64', interface: 0 }],
    routes: [{ dst: '0.0.0.0/0', mtu: 1400, table: 100 }],
    dns: {},
  }
  for (const v of ['0.3.0', '0.3.1', '0.4.0']) {
    const c = convertResult(r, v)
    t.equal(c.cniVersion, v)
    t.same(c.ips?.map((ip) => ip.version), ['4', '6'], `${v} labels families`)
    t.same(c.routes, [{ dst: '0.0.0.0/0' }])
    t.notOk('socketPath' in (c.interfaces?.[0] ?? {}))
  }
  t.notOk('version' in (convertResult(r, '1.0.0').ips?.[0] ?? {}))
  t.same(convertResult(r, '1.1.0').routes, [{ dst: '0.0.0.0/0', mtu: 1400, table: 100 }])
  t.same(normalizeResult({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.1.2/24' }] }, '0.4.0').ips, [{ address: '10.1.1.2/24' }])
  t.same(normalizeResult({ cniVersion: '0.2.0', ip4: { ip: '10.1.1.2/24', gateway: '10.1.1.1', routes: [{ dst: '0.0.0.0/0' }] } }, '0.2.0'),
    { cniVersion: '1.0.0', ips: [{ address: '10.1.1.2/24', gateway: '10.1.1.1' }], routes: [{ dst: '0.0.0.0/0' }] })
  t.throws(() => normalizeResult('nope', '1.0.0'), /not a JSON object/)
  t.throws(() => normalizeResult({ ips: [{ gateway: 'x' }] }, '1.0.0'), /without an address/)
})

t.test('merging appends interfaces, shifts ip interface indices and merges routes and DNS', async (t) => {
  const a: CniResult = { cniVersion: '1.0.0', interfaces: [{ name: 'br' }, { name: 'eth0', sandbox: '/n' }], ips: [{ address: '10.0.0.2/24', interface: 1 }], routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['1.1.1.1'], search: ['a'] } }
  const b: CniResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth1', sandbox: '/n' }], ips: [{ address: '10.9.0.2/24', interface: 0 }], routes: [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16' }], dns: { nameservers: ['1.1.1.1', '8.8.8.8'], domain: 'x' } }
  const m = mergeResults([a, b], '1.0.0')
  t.same(m.interfaces?.map((i) => i.name), ['br', 'eth0', 'eth1'])
  t.same(m.ips, [{ address: '10.0.0.2/24', interface: 1 }, { address: '10.9.0.2/24', interface: 2 }])
  t.same(m.routes, [{ dst: '0.0.0.0/0' }, { dst: '10.9.0.0/16' }])
  t.same(m.dns, { nameservers: ['1.1.1.1', '8.8.8.8'], domain: 'x', search: ['a'] })
  t.same(mergeResults([], '1.0.0'), { cniVersion: '1.0.0', interfaces: [], ips: [], routes: [], dns: {} })
})

t.test('status annotations: network-status per attachment, multi-ip-preferences only with several interfaces', async (t) => {
  const res = (ifname: string, ip: string): CniResult => ({ cniVersion: '1.0.0', interfaces: [{ name: 'veth1', mac: '00:00:00:00:00:01' }, { name: ifname, mac: '0a:00:00:00:00:02', sandbox: '/n' }], ips: [{ address: ip, interface: 1 }], dns: {} })
  const one = statusAnnotations([{ name: 'a', ifname: 'eth0', result: res('eth0', '10.0.0.2/24') }], 'eth0', { plugins: ['a'], reason: 'explicit', decisionId: '' })
  t.same(JSON.parse(one['k8s.v1.cni.cncf.io/network-status'] ?? ''), [{ name: 'a', interface: 'eth0', ips: ['10.0.0.2'], default: true, dns: {}, mac: '0a:00:00:00:00:02' }])
  t.equal(one['multi-ip-preferences'], undefined)
  t.same(JSON.parse(one['netrank.io/selection'] ?? ''), { plugins: ['a'], reason: 'explicit', decisionId: '' })
  const two = statusAnnotations([{ name: 'a', ifname: 'eth0', result: res('eth0', '10.0.0.2/24') }, { name: 'ns/b', ifname: 'net1', result: res('net1', '10.1.0.2/24') }], 'eth0', { plugins: ['a', 'b'], reason: 'explicit', decisionId: '' })
  t.same(JSON.parse(two['multi-ip-preferences'] ?? ''), { multi_entry: 2, ips: { ip1: { ip: '10.0.0.2', interface: 'eth0' }, ip2: { ip: '10.1.0.2', interface: 'net1' } } })
})

t.test('a /v1/select answer must have non-empty plugins, a reason and a decisionId', async (t) => {
  t.same(validateSelectAnswer({ plugins: ['a'], reason: 'smart', decisionId: 'd' }), { plugins: ['a'], reason: 'smart', decisionId: 'd' })
  for (const bad of [null, [], 'x', { plugins: [], reason: 'r', decisionId: 'd' }, { plugins: ['a'], decisionId: 'd' }, { plugins: ['../x'], reason: 'r', decisionId: 'd' }, { plugins: [1], reason: 'r', decisionId: 'd' }]) {
    t.equal(validateSelectAnswer(bad), undefined, JSON.stringify(bad))
  }
})

t.test('delegate confs: .conf becomes a one-plugin list; bad types and versions are code 112', async (t) => {
  const n = normalizeNetwork({ cniVersion: '1.0.0', name: 'x', type: 'bridge', bridge: 'b0' }, 'f')
  t.same(n.plugins, [{ type: 'bridge', bridge: 'b0' }])
  t.throws(() => normalizeNetwork({ cniVersion: '1.0.0', name: 'x', type: '../bin/sh' }, 'f'), { name: 'CniError', cniCode: 112 })
  t.throws(() => normalizeNetwork({ cniVersion: '9.9.9', name: 'x', type: 'bridge' }, 'f'), { name: 'CniError', cniCode: 112 })
  t.throws(() => normalizeNetwork({ cniVersion: '1.0.0', name: 'x', plugins: [] }, 'f'), { name: 'CniError', cniCode: 112 })
  t.throws(() => normalizeNetwork({ cniVersion: '1.0.0', type: 'bridge' }, 'f'), { name: 'CniError', cniCode: 112 })
  t.equal(normalizeNetwork({ cniVersion: '1.0.0', type: 'bridge' }, 'nad', 'fallback').name, 'fallback')
})

t.test('plugin confs get name, cniVersion, prevResult and only the runtimeConfig their capabilities ask for', async (t) => {
  const n = normalizeNetwork({ cniVersion: '0.4.0', name: 'net', plugins: [{ type: 'bridge' }, { type: 'portmap', capabilities: { portMappings: true, bandwidth: false } }] }, 'f')
  const rc = { portMappings: [{ hostPort: 8080 }], bandwidth: { ingressRate: 1 } }
  t.same(buildPluginConf(n, n.plugins[0] as never, undefined, rc), { type: 'bridge', name: 'net', cniVersion: '0.4.0' })
  t.same(buildPluginConf(n, n.plugins[1] as never, { cniVersion: '0.4.0' }, rc), {
    type: 'portmap', capabilities: { portMappings: true, bandwidth: false }, name: 'net', cniVersion: '0.4.0', prevResult: { cniVersion: '0.4.0' }, runtimeConfig: { portMappings: [{ hostPort: 8080 }] },
  })
})

t.test('CHECK compares recorded interfaces and addresses with the prevResult', async (t) => {
  const rec: CniResult = { cniVersion: '1.0.0', interfaces: [{ name: 'veth', mac: 'x' }, { name: 'eth0', sandbox: '/n' }], ips: [{ address: '10.0.0.2/24' }] }
  t.same(compareWithPrevResult([rec], rec), [])
  t.same(compareWithPrevResult([rec], { cniVersion: '1.0.0', interfaces: [], ips: [] }), ['interface eth0 is missing from prevResult', 'address 10.0.0.2/24 is missing from prevResult'])
})

t.test('attachment records are written atomically, read back, listed and removed', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nr-rec-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const rec: AttachmentRecord = {
    format: RECORD_FORMAT, containerId: 'c1', ifname: 'eth0', netns: '/n', cniVersion: '1.0.0', pod: null, reason: 'default', decisionId: '',
    plugins: ['a'], state: 'planned', createdAt: 'x', updatedAt: 'x', attachments: [{ network: 'a', ifname: 'eth0', conf: normalizeNetwork({ cniVersion: '1.0.0', name: 'a', type: 'bridge' }, 'f') }],
  }
  t.equal(readRecord(dir, 'c1', 'eth0'), undefined)
  writeRecord(dir, rec)
  writeRecord(dir, { ...rec, state: 'added' })
  t.equal(readRecord(dir, 'c1', 'eth0')?.state, 'added')
  t.same(readdirSync(join(dir, 'attachments')), ['c1@eth0.json'], 'no temp files left behind')
  writeFileSync(join(dir, 'attachments', 'junk.json'), '{"half":')
  writeFileSync(join(dir, 'attachments', '.c2@eth0.1.tmp'), 'partial')
  const all = readAttachmentRecords(dir)
  t.same(all.records.map((r) => r.containerId), ['c1'])
  t.same(all.skipped, ['junk.json'])
  writeFileSync(recordPath(dir, 'c3', 'eth0'), '{"format":"other"}')
  t.throws(() => readRecord(dir, 'c3', 'eth0'), /not a netrank.io\/attachment-record\/v1 record/)
  writeRecord(dir, { ...rec, containerId: 'a_b', ifname: 'c' })
  writeRecord(dir, { ...rec, containerId: 'a', ifname: 'b_c' })
  t.same([readRecord(dir, 'a_b', 'c')?.ifname, readRecord(dir, 'a', 'b_c')?.ifname], ['c', 'b_c'], 'ids and names with _ never share a file')
  removeRecord(dir, 'c1', 'eth0')
  removeRecord(dir, 'c1', 'eth0')
  t.equal(readRecord(dir, 'c1', 'eth0'), undefined)
  t.same(readAttachmentRecords(join(dir, 'missing')), { records: [], skipped: [] })
})

t.test('an unexpected exception becomes code 199 with its message, never a silent exit', async (t) => {
  const { errorOutcome } = await import('../../cni/run.js')
  const out = errorOutcome(new TypeError('boom'), '0.4.0')
  t.equal(out.exitCode, 1)
  t.same(JSON.parse(out.stdout), { cniVersion: '0.4.0', code: 199, msg: 'internal error in netrank-cni: boom', details: 'NR_CNI_INTERNAL: boom' })
})
