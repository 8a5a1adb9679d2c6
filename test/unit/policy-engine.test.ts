// The policy engine without a cluster: watched objects from fake caches, nft through a
// recording runner (and the real `nft -c` to check the ruleset parses, when nft is here).
import t from 'tap'
import type { Test } from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { KubernetesObject } from '@kubernetes/client-node'
import { createPolicyEngine } from '../../agent/policy-engine.js'
import { renderRuleset, ruleCounters } from '../../agent/policy-nft.js'
import type { NftRunner } from '../../agent/policy-nft.js'
import type { KubeCache } from '../../collectors/kube-watch.js'

function cache (items: () => KubernetesObject[], synced = true): KubeCache<KubernetesObject> {
  return { list: items, synced, lastError: undefined, start: async () => {}, stop: async () => {} }
}
let rv = 0
const obj = (kind: string, name: string, extra: Record<string, unknown>): KubernetesObject => ({ kind, metadata: { name, namespace: 'default', resourceVersion: String(++rv), creationTimestamp: `2026-01-01T00:00:${String(rv).padStart(2, '0')}Z`, ...(extra.metadata as object) }, ...extra } as unknown as KubernetesObject)
const logical = (n: string, sub: string) => obj('Logicalnetwork', n, { spec: { physicalNet: 'phy', sub_subnet: sub } })
const policy = (text: string) => obj('NetworkPolicy', 'genie', { metadata: { annotations: { genieNetworkpolicy: text } } })

function setup (t: Test) {
  const dir = mkdtempSync(join(tmpdir(), 'nr-policy-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const applied: string[] = []
  const patches: Array<{ path: string, body: unknown }> = []
  let failApply = false
  const runner: NftRunner = {
    apply: async (s) => { if (failApply) throw new Error('nft: Operation not permitted'); applied.push(s) },
    list: async () => ({ nftables: [{ rule: { comment: 'default/net1 -> default/net3', expr: [{ match: {} }, { counter: { packets: 7, bytes: 588 } }] } }] }),
  }
  const state = { policies: [] as KubernetesObject[], logicals: [logical('net1', '10.68.0.16/28'), logical('net2', '10.68.0.32/28'), logical('net3', '10.68.0.48/28')], physicals: [obj('Physicalnetwork', 'phy', { spec: { sharedStatus: { plugin: 'nr-shared', subnet: '10.68.0.0/24' } } })] }
  const results: string[] = []
  const make = () => createPolicyEngine({
    caches: { networkPolicies: async () => cache(() => state.policies), logical: async () => cache(() => state.logicals), physical: async () => cache(() => state.physicals) },
    patch: async (path, body) => { patches.push({ path, body }) },
    runner,
    confDir: join(dir, 'net.d'),
    stateFile: join(dir, 'policy-last-good.json'),
    log: { info: () => {}, warn: () => {} },
    onReconcile: (r) => results.push(r),
  })
  return { state, applied, patches, results, make, setFail: (v: boolean) => { failApply = v } }
}

t.test('a policy change replaces the rules once; no change, no apply; conditions written once', async (t) => {
  const s = setup(t)
  const e = s.make()
  t.equal(await e.reconcile(), 'applied', 'the first round applies (an empty matrix: no drop)')
  t.notMatch(s.applied[0] ?? '', /drop/)
  t.equal(s.patches.length, 3, 'a Valid condition for each logical network')
  t.match(s.patches[0], { path: '/apis/alpha.network.k8s.io/v1/namespaces/default/logicalnetworks/net1/status', body: { status: { conditions: [{ type: 'Valid', status: 'True' }] } } })
  t.equal(await e.reconcile(), 'unchanged')
  s.state.policies = [policy('[{networkSelector: net1, peerNetworks: net2}]')]
  t.equal(await e.reconcile(), 'applied')
  const rules = s.applied[1] ?? ''
  t.match(rules, /ip saddr 10\.68\.0\.16\/28 ip daddr 10\.68\.0\.48\/28 counter drop comment "default\/net1 -> default\/net3"/)
  t.match(rules, /ip saddr 10\.68\.0\.48\/28 ip daddr 10\.68\.0\.16\/28 counter drop/, 'both directions')
  t.notMatch(rules, /10\.68\.0\.32\/28 ip daddr 10\.68\.0\.16/, 'net1 ↔ net2 allowed')
  t.equal(s.patches.length, 3, 'conditions unchanged: not written again')
  const st = await e.state()
  t.equal(st.generation, 2)
  t.equal(st.rules.denied, 2)
  t.same(st.rules.droppedPackets, { 'default/net1 -> default/net3': 7 }, 'the rules\' counters are read back')
  t.same(st.namespaces[0]?.confined, { net1: ['net2'] })
})

t.test('an annotation that does not parse keeps the previous entries, also across a restart; a failed apply keeps the old rules and retries', async (t) => {
  const s = setup(t)
  const e = s.make()
  s.state.policies = [policy('[{networkSelector: net1, peerNetworks: net2}]')]
  await e.reconcile()
  const good = s.applied.at(-1)
  s.state.policies = [policy('[{networkSelector: net1 peers: net2}]')]
  t.equal(await e.reconcile(), 'unchanged', 'the same rules stay')
  let st = await e.state()
  t.match(st.policies[0], { inForce: 'previous', error: /unknown key "peers"/, entries: [{ networkSelector: 'net1', peerNetworks: ['net2'] }] })
  const restarted = s.make()
  t.equal(await restarted.reconcile(), 'applied', 'a restarted engine applies once')
  t.equal(s.applied.at(-1), good, 'the same ruleset: the saved entries are in force')
  st = await restarted.state()
  t.equal(st.policies[0]?.inForce, 'previous')

  s.state.policies = []
  s.setFail(true)
  t.equal(await restarted.reconcile(), 'error')
  st = await restarted.state()
  t.match(st.lastError, /Operation not permitted/)
  s.setFail(false)
  t.equal(await restarted.reconcile(), 'applied', 'the next round tries again')
  t.notMatch(s.applied.at(-1) ?? '', /drop/, 'no policy: nothing dropped')
})

t.test('invalid networks get no rules and a Valid=False condition; unsynced caches wait', async (t) => {
  const s = setup(t)
  s.state.logicals.push(logical('late', '10.68.0.20/30'))
  s.state.policies = [policy('[{networkSelector: late, peerNetworks: net1}]')]
  const e = s.make()
  await e.reconcile()
  t.match(s.patches.find((p) => p.path.includes('/late/')), { body: { status: { conditions: [{ status: 'False', reason: 'Invalid', message: /overlaps logical network net1/ }] } } })
  t.notMatch(s.applied[0] ?? '', /10\.68\.0\.20/, 'no rule names the invalid network')
  const waiting = createPolicyEngine({
    caches: { networkPolicies: async () => cache(() => [], false), logical: async () => cache(() => []), physical: async () => cache(() => []) },
    patch: async () => {}, runner: { apply: async () => { t.fail('applied before the first list') }, list: async () => undefined }, confDir: '/nonexistent', log: { info: () => {}, warn: () => {} },
  })
  t.equal(await waiting.reconcile(), 'error')
  t.match((await waiting.state()).lastError, /waiting for the first list \(networkpolicies\)/)
})

t.test('the ruleset is one transaction nft accepts; counters are read from its JSON listing', async (t) => {
  const script = renderRuleset([{ from: { key: 'default/a', family: 4, cidr: '10.68.0.16/28' }, to: { key: 'default/b', family: 4, cidr: '10.68.0.32/28' } }, { from: { key: 'default/c', family: 6, cidr: 'fd00::/120' }, to: { key: 'default/d', family: 6, cidr: 'fd00::100/120' } }, { from: { key: 'x', family: 4, cidr: '10.0.0.0/8' }, to: { key: 'y', family: 6, cidr: 'fd00::/8' } }])
  t.match(script, /^table inet netrank \{\}\ndelete table inet netrank\ntable inet netrank \{/m)
  t.match(script, /table bridge netrank \{/)
  t.match(script, /ip6 saddr fd00::\/120 ip6 daddr fd00::100\/120 counter drop/)
  t.notMatch(script, /10\.0\.0\.0\/8/, 'a pair of two families has no rule')
  let nft = true
  try { execFileSync('nft', ['--version'], { stdio: 'ignore' }) } catch { nft = false }
  if (nft && process.getuid?.() === 0) {
    execFileSync('nft', ['-c', '-f', '-'], { input: script }) // check only: nothing is applied
    t.pass('nft -c accepts it')
  }
  t.same(ruleCounters({ nftables: [{ rule: { comment: 'a -> b', expr: [{ counter: { packets: 3 } }] } }, { rule: { expr: [] } }, { table: {} }] }), { 'a -> b': 3 })
  t.same(ruleCounters(undefined), {})
})
