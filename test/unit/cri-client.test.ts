// The CRI client's wire and fault behaviour against an in-process gRPC server built from the
// same proto subset (the real runtime is containerd in test/system/lab-cri.test.ts): what it
// sends, how uint64/int64 and enums come back, and that every failure names the socket, the
// RPC and the cause — a missing socket, a refusing one, an error status, a deadline.
import t from 'tap'
import type { Test } from 'tap'
import { Server, ServerCredentials, loadPackageDefinition, status } from '@grpc/grpc-js'
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js'
import { loadSync } from '@grpc/proto-loader'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CRI_PROTO, CriClient, CriError } from '../../collectors/cri/cri-client.js'
import { criCounters } from '../../collectors/traffic/cri-stats.js'

type Handler = (call: ServerUnaryCall<Record<string, unknown>, unknown>, cb: sendUnaryData<unknown>) => void

async function serve (t: Test, handlers: Record<string, Handler>): Promise<string> {
  const def = loadSync(CRI_PROTO, { keepCase: false, longs: String, enums: String, defaults: true })
  const pkg = loadPackageDefinition(def) as unknown as { runtime: { v1: { RuntimeService: { service: never } } } }
  const server = new Server()
  const unimplemented: Handler = (_c, cb) => { cb({ code: status.UNIMPLEMENTED, details: 'not in this test' }) }
  const names = ['Version', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus', 'ListPodSandbox', 'ListPodSandboxStats', 'Status']
  server.addService(pkg.runtime.v1.RuntimeService.service, Object.fromEntries(names.map((n) => [n[0]?.toLowerCase() + n.slice(1), handlers[n] ?? unimplemented])))
  const dir = mkdtempSync(join(tmpdir(), 'nr-cri-'))
  const sock = join(dir, 'cri.sock')
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix://${sock}`, ServerCredentials.createInsecure(), (err) => { if (err !== null) reject(err); else resolve() }))
  t.teardown(() => { server.forceShutdown(); rmSync(dir, { recursive: true, force: true }) })
  return sock
}

t.test('RunPodSandbox sends the kubelet\'s config (metadata, labels, annotations, cgroup parent) and returns the id', async (t) => {
  let got: Record<string, unknown> | undefined
  const sock = await serve(t, {
    RunPodSandbox: (call, cb) => { got = call.request; cb(null, { podSandboxId: 'a'.repeat(64) }) },
  })
  const c = new CriClient(sock)
  t.teardown(() => c.close())
  const id = await c.runPodSandbox({ metadata: { name: 'web', namespace: 'shop', uid: 'u-1' }, labels: { app: 'web' }, annotations: { cni: '' }, cgroupParent: '/nr-lab/podu-1' })
  t.equal(id, 'a'.repeat(64))
  t.match(got, {
    config: { metadata: { name: 'web', namespace: 'shop', uid: 'u-1', attempt: 0 }, hostname: 'web', labels: { app: 'web' }, annotations: { cni: '' }, linux: { cgroupParent: '/nr-lab/podu-1' } },
    runtimeHandler: '',
  })
})

t.test('PodSandboxStatus and ListPodSandboxStats: enums as names, int64/uint64 as bigint, missing counters left out', async (t) => {
  const sock = await serve(t, {
    PodSandboxStatus: (call, cb) => {
      cb(null, {
        status: { id: call.request.podSandboxId, metadata: { name: 'p', namespace: 'n', uid: 'u' }, state: 'SANDBOX_NOTREADY', createdAt: '1764878400123456789', network: { ip: '10.66.1.4', additionalIps: [{ ip: 'fd00::4' }] }, labels: { a: 'b' } },
        info: { info: '{"pid":1}' },
      })
    },
    ListPodSandboxStats: (_call, cb) => {
      cb(null, {
        stats: [{
          attributes: { id: 'b'.repeat(64), metadata: { name: 'p', namespace: 'n', uid: 'u' } },
          linux: { network: { timestamp: '1764878400500000000', defaultInterface: { name: 'eth0', rxBytes: { value: '9007199254740993' }, txBytes: { value: '12' } }, interfaces: [{ name: 'eth1', rxBytes: { value: '5' } }] } },
        }, {
          attributes: { id: 'c'.repeat(64), metadata: { name: 'q', namespace: 'n', uid: 'v' } },
        }],
      })
    },
  })
  const c = new CriClient(sock)
  t.teardown(() => c.close())
  const st = await c.podSandboxStatus('x', true)
  t.match(st, { id: 'x', state: 'SANDBOX_NOTREADY', createdAtNs: 1764878400123456789n, ip: '10.66.1.4', additionalIps: ['fd00::4'], labels: { a: 'b' }, info: { info: '{"pid":1}' } })
  const stats = await c.listPodSandboxStats()
  t.equal(stats.length, 2)
  t.same(stats[0]?.interfaces, [{ name: 'eth0', rxBytes: 9007199254740993n, txBytes: 12n }, { name: 'eth1', rxBytes: 5n }], 'uint64 beyond 2^53 kept exact; eth1 without tx has no txBytes')
  t.equal(stats[0]?.timestampNs, 1764878400500000000n)
  t.equal(stats[1]?.timestampNs, undefined, 'no network stats: no timestamp')
  t.same(stats[1]?.interfaces, [])
})

t.test('a missing socket, a dead socket, an error status and a deadline each give a CriError naming the cause', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'nr-cri-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const missing = new CriClient(join(dir, 'none.sock'))
  t.teardown(() => missing.close())
  await t.rejects(missing.version(), { name: 'CriError', rpc: 'Version', message: /none\.sock.*the socket does not exist \(is the runtime running\?\)/ })

  const stale = join(dir, 'stale.sock')
  writeFileSync(stale, '') // a file where a socket should be: nobody listens
  const dead = new CriClient(stale, { timeoutMs: 2_000 })
  t.teardown(() => dead.close())
  const e = await dead.version().then(() => undefined, (err: unknown) => err)
  t.ok(e instanceof CriError, 'a CriError')
  t.match((e as CriError).grpcCode, /UNAVAILABLE|DEADLINE_EXCEEDED/)
  t.match((e as Error).message, /stale\.sock/)

  const sock = await serve(t, {
    RunPodSandbox: (_c, cb) => { cb({ code: status.UNKNOWN, details: 'failed to setup network for sandbox "x": plugin type="netrank-cni" failed (add): no IP addresses available' }) },
    Version: () => { /* never answers */ },
  })
  const c = new CriClient(sock, { timeoutMs: 300 })
  t.teardown(() => c.close())
  await t.rejects(c.runPodSandbox({ metadata: { name: 'p', namespace: 'n', uid: 'u' } }), { rpc: 'RunPodSandbox', grpcCode: 'UNKNOWN', message: /RunPodSandbox at .*cri\.sock failed \(UNKNOWN\): failed to setup network .*no IP addresses available/ })
  await t.rejects(c.version(), { rpc: 'Version', grpcCode: 'DEADLINE_EXCEEDED', message: /Version at .* failed \(DEADLINE_EXCEEDED\)/ })
  await t.rejects(c.listPodSandbox(), { grpcCode: 'UNIMPLEMENTED', message: /not in this test/ })
})

t.test('criCounters: one counter per interface with the runtime\'s read time, hostNetwork/probe pods and empty sandboxes left out', async (t) => {
  const meta = (name: string) => ({ name, namespace: 'default', uid: `uid-${name}`, attempt: 0 })
  const r = criCounters([
    { id: 'b'.repeat(64), metadata: meta('web'), labels: {}, timestampNs: 1_764_878_400_500_000_000n, interfaces: [{ name: 'eth0', rxBytes: 100n, txBytes: 200n }, { name: 'eth1', rxBytes: 1n, txBytes: 2n }, { name: 'eth0', rxBytes: 7n, txBytes: 7n }] },
    { id: 'c'.repeat(64), metadata: meta('probe'), labels: {}, timestampNs: 1n, interfaces: [{ name: 'eth0', rxBytes: 1n, txBytes: 1n }] },
    { id: 'd'.repeat(64), metadata: meta('idle'), labels: {}, interfaces: [] },
    { id: 'e'.repeat(64), metadata: meta('huge'), labels: {}, interfaces: [{ name: 'eth0', rxBytes: 2n ** 60n, txBytes: 1n }, { name: 'eth9', rxBytes: 3n }] },
    { id: 'f'.repeat(64), metadata: meta('nots'), labels: {}, interfaces: [{ name: 'eth0', rxBytes: 3n, txBytes: 4n }] },
  ], 1_000, { hostNetworkPods: new Set(['default/probe']) })
  t.same(r.counters, [
    { namespace: 'default', pod: 'nots', interface: 'eth0', rxBytes: 3, txBytes: 4, atMs: 1_000, sandboxId: 'f'.repeat(64), podUid: 'uid-nots' },
    { namespace: 'default', pod: 'web', interface: 'eth0', rxBytes: 100, txBytes: 200, atMs: 1_764_878_400_500, sandboxId: 'b'.repeat(64), podUid: 'uid-web' },
    { namespace: 'default', pod: 'web', interface: 'eth1', rxBytes: 1, txBytes: 2, atMs: 1_764_878_400_500, sandboxId: 'b'.repeat(64), podUid: 'uid-web' },
  ], 'the first eth0 of web only; a counter beyond 2^53 and one without tx dropped; no timestamp → the scrape time')
  t.same(r.excluded, ['default/probe'])
  t.same(r.sandboxesWithoutNetwork, ['default/idle'])
})
