// CNI-Genie's isolation objects and policy annotation, read from its own samples, and the
// allowed matrix for each of the five scenarios of its docs (docs/isolation.md).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parse } from 'yaml'
import { allowedMatrix, deniedPairs, GeniePolicyError, parseGeniePolicy } from '../../contract/genie-policy.js'
import type { GeniePolicyEntry } from '../../contract/genie-policy.js'
import { readLogicalNetwork, readPhysicalNetwork, validateLogicalNetworks } from '../../contract/logical-network.js'
import { parseLogicalRequest, readPodRequest, PodRequestError } from '../../contract/pod-request.js'
import { cidrSpan } from '../../collectors/ipam/cidr-span.js'

const sample = (f: string): Record<string, unknown> => parse(readFileSync(new URL(`../fixtures/cni-genie/${f}`, import.meta.url), 'utf8')) as Record<string, unknown>

t.test('Genie\'s samples read, sharedStaus (sic) as sharedStatus', async (t) => {
  t.match(readPhysicalNetwork(sample('physicalnet-dedicated.yaml')), { name: 'phynet1', namespace: 'default', referNic: 'eth0', dedicated: true, plugin: 'weave', subnet: '10.32.0.0/16' })
  t.match(readPhysicalNetwork(sample('physicalnet-shared.yaml')), { name: 'phynet2', referNic: 'eth1', dedicated: false })
  t.match(readLogicalNetwork(sample('logicalnet-shared.yaml')), { name: 'net2', physicalNet: 'phynet2', plugin: 'flannel', subSubnet: '10.244.0.0/24' })
  t.equal(readLogicalNetwork({ metadata: { name: 'x' }, spec: { physicalNet: 'p' } }), 'logical network x: spec.sub_subnet is missing')
  t.equal(readLogicalNetwork({ metadata: {} }), 'metadata.name is missing')
  t.equal(readPhysicalNetwork({ metadata: { name: 'p' }, spec: { sharedStatus: { dedicatedNet: 'yes' } } }), 'physical network p: sharedStatus.dedicatedNet must be true or false')
  const pod = sample('pod-multi-networks.yaml') as { metadata: { annotations: Record<string, string> } }
  t.same(readPodRequest(pod.metadata.annotations, 'default'), { mode: 'logical', networks: [{ network: 'net1', ifname: 'eth0' }, { network: 'net2', ifname: 'eth4' }], profile: undefined })
})

t.test('logical networks: inside the physical subnet (or the plugin range), no overlap, one per dedicated network', async (t) => {
  const phy = (name: string, s: Record<string, unknown>) => ({ metadata: { name, namespace: 'default' }, spec: { sharedStatus: s } })
  const log = (name: string, physicalNet: string, sub: string, created: string, plugin?: string) => ({ metadata: { name, namespace: 'default', creationTimestamp: created }, spec: { physicalNet, sub_subnet: sub, ...(plugin === undefined ? {} : { plugin }) } })
  const v = validateLogicalNetworks({
    parseCidr: cidrSpan,
    pluginRanges: (p) => (p === 'nr-shared' ? [cidrSpan('10.68.0.0/24')].filter((x) => x !== undefined) : undefined),
    physicals: [phy('shared', { dedicatedNet: false, plugin: 'nr-shared', subnet: '10.68.0.0/24' }), phy('ded', { dedicatedNet: true, plugin: 'nr-shared' }), phy('nosub', { plugin: 'unknown-plugin' })],
    logicals: [
      log('net1', 'shared', '10.68.0.16/28', '2026-01-01T00:00:01Z'),
      log('net2', 'shared', '10.68.0.32/28', '2026-01-01T00:00:02Z'),
      log('late', 'shared', '10.68.0.24/29', '2026-01-01T00:00:03Z'), // inside net1
      log('out', 'shared', '10.69.0.0/28', '2026-01-01T00:00:04Z'),
      log('bad', 'shared', '10.68.0.300/28', '2026-01-01T00:00:05Z'),
      log('d1', 'ded', '10.68.0.128/28', '2026-01-01T00:00:06Z'),
      log('d2', 'ded', '10.68.0.144/28', '2026-01-01T00:00:07Z'),
      log('orphan', 'nope', '10.68.0.0/28', '2026-01-01T00:00:08Z'),
      log('unk', 'nosub', '10.1.0.0/28', '2026-01-01T00:00:09Z'),
      { metadata: { name: 'broken', namespace: 'default' }, spec: {} },
    ],
  })
  const r = (n: string): string => `${v.get(`default/${n}`)?.valid === true ? 'valid' : 'invalid'}: ${v.get(`default/${n}`)?.reason ?? '(none)'}`
  t.match(r('net1'), /^valid: ok: 10\.68\.0\.16\/28 on physical network shared through nr-shared/)
  t.match(r('net2'), /^valid/)
  t.match(r('late'), /^invalid: sub_subnet 10\.68\.0\.24\/29 overlaps logical network net1 \(10\.68\.0\.16\/28\) on physical network shared/)
  t.match(r('out'), /^invalid: sub_subnet 10\.69\.0\.0\/28 does not fall under physical network shared's subnet 10\.68\.0\.0\/24/)
  t.match(r('bad'), /^invalid: sub_subnet "10\.68\.0\.300\/28" is not a CIDR/)
  t.match(r('d1'), /^valid: .*through nr-shared/, 'no physical subnet: checked against the plugin\'s range')
  t.match(r('d2'), /^invalid: physical network ded is dedicated \(dedicatedNet: true\) and already holds logical network d1/)
  t.match(r('orphan'), /^invalid: physical network default\/nope does not exist/)
  t.match(r('unk'), /^invalid: cannot check sub_subnet 10\.1\.0\.0\/28: physical network nosub has no subnet and plugin unknown-plugin's IPAM range is unknown/)
  t.match(r('broken'), /^invalid: logical network broken: spec.physicalNet is missing/)
})

t.test('the networks annotation of logical mode: names, ifnames after a colon, and clear errors', async (t) => {
  t.same(parseLogicalRequest('net1'), [{ network: 'net1' }])
  t.same(parseLogicalRequest(' net1:eth0 , net2:eth4 '), [{ network: 'net1', ifname: 'eth0' }, { network: 'net2', ifname: 'eth4' }])
  t.throws(() => parseLogicalRequest('net1,,net2'), PodRequestError)
  t.throws(() => parseLogicalRequest('net1:'), /networks: interface in "net1:" /)
  t.throws(() => parseLogicalRequest('Net_1'), /networks: "Net_1" is not a logical network name/)
  t.throws(() => parseLogicalRequest('net1,net1'), /networks: net1 is named twice/)
  // precedence: a blank or absent cni with `networks` is logical mode; a listed cni wins; the NAD key wins over all
  t.equal(readPodRequest({ cni: '', networks: 'net1' }, 'default').mode, 'logical')
  t.equal(readPodRequest({ networks: 'net1' }, 'default').mode, 'logical')
  t.equal(readPodRequest({ cni: 'bridge-fast', networks: 'net1' }, 'default').mode, 'explicit')
  t.equal(readPodRequest({ cni: '', networks: 'net1', 'k8s.v1.cni.cncf.io/networks': 'nad1' }, 'default').mode, 'nad')
  t.equal(readPodRequest({ cni: '', networks: '  ' }, 'default').mode, 'smart', 'a blank networks is no request')
})

t.test('the annotation in Genie\'s own form, JSON and YAML flow lists; errors say where', async (t) => {
  const np = sample('networkpolicy-genie.yaml') as { metadata: { annotations: Record<string, string> } }
  t.same(parseGeniePolicy(np.metadata.annotations.genieNetworkpolicy ?? ''), [
    { networkSelector: 'net1', peerNetworks: ['net2'] },
    { networkSelector: 'net4', peerNetworks: ['net3', 'net5'] },
  ], 'Genie\'s sample: keys on their own lines, no commas between them')
  t.same(parseGeniePolicy('[{"networkSelector":"net1","peerNetworks":["net2","net3"]}]'), [{ networkSelector: 'net1', peerNetworks: ['net2', 'net3'] }])
  t.same(parseGeniePolicy('[{networkSelector: net1, peerNetworks: [net2, net3]}]'), [{ networkSelector: 'net1', peerNetworks: ['net2', 'net3'] }])
  t.same(parseGeniePolicy('[{ networkSelector: net1 peerNetworks: "net2,net3" }]'), [{ networkSelector: 'net1', peerNetworks: ['net2', 'net3'] }])
  t.same(parseGeniePolicy('[]'), [])
  t.same(parseGeniePolicy('[{networkSelector: net1}]'), [{ networkSelector: 'net1', peerNetworks: [] }], 'no peers: confined to nobody')
  t.throws(() => parseGeniePolicy('networkSelector: net1'), GeniePolicyError)
  t.throws(() => parseGeniePolicy('[{peerNetworks: net2}]'), /entry 0: networkSelector is missing/)
  t.throws(() => parseGeniePolicy('[{networkSelector: net1, peers: net2}]'), /entry 0: unknown key "peers"/)
  t.throws(() => parseGeniePolicy('[{networkSelector: "net1,net2", peerNetworks: net3}]'), /exactly one network/)
  t.throws(() => parseGeniePolicy('[{networkSelector: NET1}]'), /"NET1" in networkSelector is not a network name/)
  t.throws(() => parseGeniePolicy('[{networkSelector: net1} junk {networkSelector: net2}]'), /unexpected text "junk" between entries/)
  t.throws(() => parseGeniePolicy('[' + 'x'.repeat(70_000) + ']'), /at most 65536/)
})

function reach (networks: string[], entries: GeniePolicyEntry[]): string[] {
  return deniedPairs(allowedMatrix(networks, entries)).map(([a, b]) => `${a}-${b}`)
}
const ALL4 = ['net1', 'net2', 'net3', 'net4']

t.test('the five scenarios of Genie\'s docs', async (t) => {
  t.same(reach(ALL4, []), [], '1. no policy: any network with any network')
  t.same(reach(ALL4, [{ networkSelector: 'net1', peerNetworks: ['net2'] }]), ['net1-net3', 'net1-net4'], '2. net1 ↔ net2 only; net2, net3, net4 with each other')
  t.same(reach(ALL4, [{ networkSelector: 'net1', peerNetworks: ['net2'] }, { networkSelector: 'net1', peerNetworks: ['net3'] }]), ['net1-net4'], '3. two entries for net1: net2 and net3')
  t.same(reach(['net1', 'net2'], [{ networkSelector: 'net1', peerNetworks: ['net4'] }]), ['net1-net2'], '4. net4 missing: net1 talks to nobody')
  t.same(reach(['net1', 'net2', 'net4'], [{ networkSelector: 'net1', peerNetworks: ['net4'] }]), ['net1-net2'], '4. net4 created: net1 ↔ net4, net2 ↔ net4, not net1 ↔ net2')
  t.same(reach(ALL4, [{ networkSelector: 'net1', peerNetworks: ['net2', 'net3'] }]), ['net1-net4'], '5. before the edit: as 3')
  t.same(reach(ALL4, [{ networkSelector: 'net1', peerNetworks: ['net2'] }]), ['net1-net3', 'net1-net4'], '5. after the edit to net2: net1 ↔ net2 only')
  const m = allowedMatrix(ALL4, [{ networkSelector: 'net2', peerNetworks: ['net3'] }, { networkSelector: 'net1', peerNetworks: ['net2'] }])
  t.same(deniedPairs(m).map((p) => p.join('-')), ['net1-net2', 'net1-net3', 'net1-net4', 'net2-net4'], 'both sides confined: a pair needs each in the other\'s peers')
  t.ok(m.allowed.every((row, i) => row[i] === true), 'a network always reaches itself')
  t.ok(m.allowed.every((row, i) => row.every((v, j) => m.allowed[j]?.[i] === v)), 'symmetric')
})
