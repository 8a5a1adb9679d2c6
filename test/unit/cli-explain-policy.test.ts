// The text forms of `netrank explain pod` and `netrank policy`, and their usage errors.
import t from 'tap'
import { explainCommand, formatExplanation } from '../../cli/cmd-explain.js'
import { formatPolicy, policyCommand } from '../../cli/cmd-policy.js'
import { UsageError } from '../../cli/command.js'

const io = { stdout: { write: () => true }, stderr: { write: () => true }, env: {} }

t.test('explain: attachments with their addresses, each decision with its scores and reasons, the ranking now', async (t) => {
  const text = formatExplanation({
    node: 'n1', namespace: 'shop', pod: 'web-1',
    attachments: [{ containerId: 'a'.repeat(64), state: 'added', reason: 'smart', decisionId: 'n1-7', createdAt: '2026-12-04T20:00:00Z', interfaces: [{ ifname: 'eth0', network: 'bridge-wide', ips: ['10.66.4.9/24'] }, { ifname: 'net1', network: 'default/blue', ips: [], nad: 'default/blue' }] }],
    decisions: [{ seq: 7, decisionId: 'n1-7', at: '2026-12-04T20:00:00Z', namespace: 'shop', pod: 'web-1', podUid: null, containerId: 'a', ifname: 'eth0', profile: 'balanced', plugin: 'bridge-wide', reason: 'smart', demand: { rxBps: 150e6, txBps: 150e6, source: 'annotation' }, scores: { 'bridge-fast': 0.41, 'bridge-wide': 0.93 }, because: ['bridge-fast is saturated'] }],
    now: { profile: 'balanced', plugins: [{ plugin: 'bridge-wide', rank: 1, score: 0.9, eligible: true, reasons: [] }, { plugin: 'bridge-small', rank: 2, score: 0, eligible: false, reasons: ['ip pool 100% full'] }] },
  })
  t.match(text, /sandbox aaaaaaaaaaaa \(added, .*\): reason smart, decision n1-7/)
  t.match(text, /eth0 +bridge-wide +10\.66\.4\.9\/24/)
  t.match(text, /net1 +default\/blue +- +\(NAD default\/blue\)/)
  t.match(text, /decision n1-7 .*: bridge-wide \(smart, profile balanced, demand rx 150 \/ tx 150 Mbit\/s from annotation\)/)
  t.match(text, /scores then: bridge-wide 0\.930, bridge-fast 0\.410/, 'best first')
  t.match(text, /because: bridge-fast is saturated/)
  t.match(text, / 2\. bridge-small +0\.000 +ineligible +ip pool 100% full/)
})

t.test('explain and policy usage errors', async (t) => {
  await t.rejects(explainCommand.run({ url: 'http://127.0.0.1:1', json: false }, [], io), UsageError)
  await t.rejects(explainCommand.run({ url: 'http://127.0.0.1:1', json: false }, ['node', 'x'], io), /unknown subject 'node'/)
  await t.rejects(explainCommand.run({ url: 'http://127.0.0.1:1', json: false }, ['pod', 'web-1'], io), /NAMESPACE\/NAME, got 'web-1'/)
  await t.rejects(explainCommand.run({ url: 'ftp://x', json: false }, ['pod', 'a/b'], io), /--url must start with http/)
  await t.rejects(policyCommand.run({ url: 'http://127.0.0.1:1', json: false, table: 'netrank' }, ['frob'], io), /unknown subcommand 'frob'/)
  await t.rejects(policyCommand.run({ url: 'http://127.0.0.1:1', json: false, table: 'bad table;' }, ['flush'], io), /--table must be an nftables table name/)
})

t.test('policy: the grid per namespace, confinements, invalid networks, unparsable policies and drops', async (t) => {
  const text = formatPolicy({
    enabled: true, generation: 3, appliedAt: '2026-12-04T20:00:00Z',
    networks: [{ namespace: 'default', name: 'net1', valid: true, reason: 'ok', subnet: '10.68.0.16/28', plugin: 'nr-shared' }, { namespace: 'default', name: 'bad', valid: false, reason: 'overlaps net1' }],
    namespaces: [{ namespace: 'default', networks: ['net1', 'net2'], allowed: [[true, false], [false, true]], confined: { net1: ['net4'] } }],
    policies: [{ namespace: 'default', name: 'genie', entries: [{ networkSelector: 'net1', peerNetworks: ['net4'] }], error: 'unknown key "x"', inForce: 'previous' }],
    rules: { table: 'netrank', denied: 2, droppedPackets: { 'default/net1 -> default/net2': 4, 'default/net2 -> default/net1': 0 } },
  })
  t.match(text, /policy generation 3, applied .*; nftables table netrank: 2 denied direction\(s\)/)
  t.match(text, /net1 +✓ +·\n +net2 +· +✓/)
  t.match(text, /net1 is confined to: net4/)
  t.match(text, /default\/bad +- +INVALID +overlaps net1/)
  t.match(text, /net1 → net4 +\[does not parse: unknown key "x"; in force: previous\]/)
  t.match(text, /default\/net1 -> default\/net2: 4/)
  t.notMatch(text, /net2 -> default\/net1: 0/, 'rules that dropped nothing are left out')
})
