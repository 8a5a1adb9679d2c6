import { ANNOTATIONS } from '../../contract/annotations.js'
import t from 'tap'
import { interfacesFromNetworkStatus, makeAttribution, networkNameToPlugin } from '../../collectors/traffic/attribution.js'
import { parseNetworkStatus } from '../../contract/network-status.js'

// A network-status value in the format the shim writes (docs/contract.md#pod-annotations) and Multus writes.
const STATUS = JSON.stringify([
  { name: 'bridge-fast', interface: 'eth0', ips: ['10.1.0.5'], mac: '0a:58:0a:01:00:05', default: true },
  { name: 'team-a/macvlan-slow', interface: 'net1', ips: ['192.168.2.226'], mac: '0a:58:c0:a8:02:e2' },
  { name: 'no-interface' },
])

t.test('network-status maps interfaces to networks; a NAD namespace prefix is dropped', async t => {
  t.same([...interfacesFromNetworkStatus(STATUS)], [['eth0', 'bridge-fast'], ['net1', 'macvlan-slow']])
  t.equal(networkNameToPlugin('kube-system/ptp'), 'ptp')
  t.equal(networkNameToPlugin('ptp'), 'ptp')
})

t.test('bad network-status values are refused with the reason', async t => {
  t.throws(() => parseNetworkStatus('{'), /not JSON/)
  t.throws(() => parseNetworkStatus('{}'), /expected a JSON array/)
  t.throws(() => parseNetworkStatus('[{"interface":"eth0"}]'), /\[0\]: needs a string "name"/)
})

t.test('attachment records come first, the annotation second, unknown stays unattributed', async t => {
  const attribute = makeAttribution({
    attachments: (ns, pod) => (ns === 'n' && pod === 'p' ? [{ ifname: 'eth0', network: 'ptp-from-record' }] : undefined),
    annotations: (ns) => (ns === 'n' ? { [ANNOTATIONS.networkStatus]: STATUS } : undefined),
  })
  t.equal(attribute('n', 'p', 'eth0'), 'ptp-from-record', 'the record wins over the annotation')
  t.equal(attribute('n', 'p', 'net1'), 'macvlan-slow', 'not in the record: the annotation')
  t.equal(attribute('n', 'q', 'eth0'), 'bridge-fast')
  t.equal(attribute('n', 'q', 'tunl0'), undefined)
  t.equal(attribute('other', 'x', 'eth0'), undefined, 'no record, no annotation')
})

t.test('a broken annotation is reported once and treated as absent', async t => {
  const errors: string[] = []
  const attribute = makeAttribution({
    annotations: () => ({ [ANNOTATIONS.networkStatus]: 'not json' }),
    onError: (ns, pod, err) => { errors.push(`${ns}/${pod}: ${(err as Error).message}`) },
  })
  t.equal(attribute('n', 'p', 'eth0'), undefined)
  t.equal(attribute('n', 'p', 'net1'), undefined)
  t.equal(errors.length, 1)
  t.match(errors[0], /^n\/p: .*not JSON/)
})
