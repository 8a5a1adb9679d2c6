// The lab kubelet's readers of what containerd and the shim say: the netns path and the CNI
// result in a real verbose PodSandboxStatus (containerd 1.6.20), the sandbox id in a
// RunPodSandbox error, and the shim's CNI code for that sandbox from its log.
import t from 'tap'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { SandboxStatus } from '../../collectors/cri/cri-client.js'
import { cniResultOf, netnsPathOf, sandboxIdOfError, shimErrorFromLog } from '../../lab/lab-kubelet.js'

const INFO = readFileSync(new URL('../fixtures/cri/containerd-1.6.20-sandbox-status-info.json', import.meta.url), 'utf8')
const LOG = new URL('../fixtures/cri/netrank-cni-log-add-failed.jsonl', import.meta.url)
const FAILED_ID = '0db40b12c2db3ca571d00826ee1cdc5c14ff2e0ccb0a2c5c5c9c28223320bd91'

const status = (info: string | undefined): SandboxStatus => ({
  id: 'x', metadata: { name: 'multi', namespace: 'default', uid: 'u' }, state: 'SANDBOX_READY', createdAtNs: 1n, labels: {}, annotations: {},
  ip: '10.66.1.4', additionalIps: [], info: info === undefined ? {} : { info },
})

t.test('the netns path comes from runtimeSpec.linux.namespaces; none without verbose info or with garbage', async (t) => {
  t.equal(netnsPathOf(status(INFO)), '/var/run/netns/cni-cc6d5851-7a68-083b-9592-e2cc090854a0')
  t.equal(netnsPathOf(status(undefined)), '')
  t.equal(netnsPathOf(status('{not json')), '')
  t.equal(netnsPathOf(status('{"runtimeSpec":{"linux":{"namespaces":[{"type":"pid"}]}}}')), '', 'no network namespace entry')
})

t.test('the CNI result keeps the sandbox interfaces with their IPs, not host devices or containerd\'s lo', async (t) => {
  const r = cniResultOf(status(INFO))
  t.same(r, {
    interfaces: [
      { name: 'eth0', mac: 'c6:5c:67:85:18:99', sandbox: '/var/run/netns/cni-cc6d5851-7a68-083b-9592-e2cc090854a0' },
      { name: 'eth1', mac: 'f2:5a:24:0a:ae:a7', sandbox: '/var/run/netns/cni-cc6d5851-7a68-083b-9592-e2cc090854a0' },
    ],
    ips: [{ address: '10.66.1.4', interface: 0 }, { address: '10.66.2.4', interface: 1 }],
  })
  t.equal(cniResultOf(status(undefined)), undefined)
  t.equal(cniResultOf(status('[]')), undefined)
})

t.test('the sandbox id of a RunPodSandbox error, quoted plain or escaped', async (t) => {
  t.equal(sandboxIdOfError(`RunPodSandbox at /x failed (UNKNOWN): failed to setup network for sandbox "${FAILED_ID}": plugin type="netrank-cni" failed (add): x`), FAILED_ID)
  t.equal(sandboxIdOfError(`failed to setup network for sandbox \\"${FAILED_ID}\\"`), FAILED_ID)
  t.equal(sandboxIdOfError('failed to reserve sandbox name "p_default_u_0"'), undefined, 'a name is not an id')
  t.equal(sandboxIdOfError('the container runtime at /x is not reachable'), undefined)
})

t.test('the shim\'s CNI code for a container comes from its log; other containers, verbs and torn lines are skipped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nr-kubelet-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const log = join(dir, 'cni.log')
  copyFileSync(LOG, log)
  t.same(shimErrorFromLog(log, FAILED_ID), {
    code: 103,
    msg: 'delegate network conf not found: no conf with "name": "nonexistent" in /tmp/nrlab2/net.d (found: bridge-fast, bridge-wide, bridge-capped, bridge-small)',
    details: 'NR_CNI_NETWORK_NOT_FOUND: no conf with "name": "nonexistent" in /tmp/nrlab2/net.d (found: bridge-fast, bridge-wide, bridge-capped, bridge-small)',
  })
  t.equal(shimErrorFromLog(log, 'f'.repeat(64)), undefined, 'another container')
  t.equal(shimErrorFromLog(log, FAILED_ID, 'DEL'), undefined, 'another verb')
  t.equal(shimErrorFromLog(join(dir, 'missing.log'), FAILED_ID), undefined, 'no log')
  // a newer failure of the same container wins; a torn last line is skipped
  appendFileSync(log, JSON.stringify({ msg: 'operation failed', command: 'ADD', containerId: FAILED_ID, code: 11, error: 'NR_CNI_TRY_AGAIN', details: 'later' }) + '\n')
  appendFileSync(log, `{"msg":"operation failed","command":"ADD","containerId":"${FAILED_ID}","co`)
  t.match(shimErrorFromLog(log, FAILED_ID), { code: 11, details: 'NR_CNI_TRY_AGAIN: later' })
  writeFileSync(log, 'x'.repeat(300 * 1024) + '\n' + readFileSync(LOG, 'utf8'))
  t.equal(shimErrorFromLog(log, FAILED_ID)?.code, 103, 'found in the last 256 KiB of a long log')
})
