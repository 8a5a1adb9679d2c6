// The shim as the runtime executes it (the esbuild bundle, built here): VERSION and a
// non-JSON stdin answer as the in-process shim does (test/unit/cni-malformed.test.ts).
import t from 'tap'
import { buildShim, runBinary } from '../support/cni-harness.js'

const baseEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'nrbad1', CNI_NETNS: '/var/run/netns/nr-none', CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni', CNI_ARGS: 'IgnoreUnknown=1', PATH: process.env.PATH ?? '' }

t.test('the bundle answers VERSION with every supported version and code 6 for a non-JSON stdin', async (t) => {
  const bundle = buildShim().bundle
  const v = await runBinary(bundle, { CNI_COMMAND: 'VERSION', PATH: process.env.PATH ?? '' }, '{"cniVersion":"1.0.0"}')
  t.same(v.json, { cniVersion: '1.1.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] })
  const bad = await runBinary(bundle, baseEnv, '{not json')
  t.equal(bad.code, 1)
  t.equal(bad.json?.code, 6, 'the bundle prints code 6 for a non-JSON stdin')
})
