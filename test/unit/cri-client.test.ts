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
  const pkg = loadPackageDefinition(def) as unknown as { runtime: { v1: { RuntimeService: { service: never }, ImageService: { service: never } } } }
  const server = new Server()
  const unimplemented: Handler = (_c, cb) => { cb({ code: status.UNIMPLEMENTED, details: 'not in this test' }) }
  const names = ['Version', 'RunPodSandbox', 'StopPodSandbox', 'RemovePodSandbox', 'PodSandboxStatus', 'ListPodSandbox', 'ListPodSandboxStats', 'Status',
    'CreateContainer', 'StartContainer', 'StopContainer', 'RemoveContainer', 'ContainerStatus']
  const impl = (list: string[]): Record<string, Handler> => Object.fromEntries(list.map((n) => [n[0]?.toLowerCase() + n.slice(1), handlers[n] ?? unimplemented]))
  server.addService(pkg.runtime.v1.RuntimeService.service, impl(names))
  server.addService(pkg.runtime.v1.ImageService.service, impl(['ImageStatus']))
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

t.test('the container RPCs: CreateContainer sends the config (command, env, mounts, security context) and the sandbox\'s, Start/Stop/Remove the id, ContainerStatus decodes', async (t) => {
  const got: Record<string, Record<string, unknown>> = {}
  const cid = 'c'.repeat(64)
  const sock = await serve(t, {
    CreateContainer: (call, cb) => { got.create = call.request; cb(null, { containerId: cid }) },
    StartContainer: (call, cb) => { got.start = call.request; cb(null, {}) },
    StopContainer: (call, cb) => { got.stop = call.request; cb(null, {}) },
    RemoveContainer: (call, cb) => { got.remove = call.request; cb(null, {}) },
    ContainerStatus: (call, cb) => {
      got.status = call.request
      cb(null, {
        status: { id: call.request.containerId, metadata: { name: 'agent', attempt: 1 }, state: 'CONTAINER_EXITED', createdAt: '1764878400000000001', startedAt: '1764878400000000002', finishedAt: '1764878400000000003', exitCode: 137, image: { image: 'ghcr.io/netrank/netrank:0.1.0' }, imageRef: 'sha256:' + 'd'.repeat(64), reason: 'Error', message: 'killed', labels: { a: 'b' }, logPath: '/logs/agent.log' },
        info: { info: '{"pid":42}' },
      })
    },
  })
  const c = new CriClient(sock)
  t.teardown(() => c.close())
  const sandbox = { metadata: { name: 'img', namespace: 'nr', uid: 'u-2' }, logDirectory: '/logs' }
  const id = await c.createContainer('s'.repeat(64), sandbox, {
    name: 'agent', image: 'ghcr.io/netrank/netrank:0.1.0', command: ['netrank'], args: ['--help'], env: { NODE_NAME: 'n1', A: 'x=y' },
    mounts: [{ containerPath: '/etc/netrank/agent.yaml', hostPath: '/tmp/agent.yaml', readonly: true }], logPath: 'agent.log', runAsUser: 65534, runAsGroup: 65534, readonlyRootfs: true,
  })
  t.equal(id, cid)
  t.match(got.create, {
    podSandboxId: 's'.repeat(64),
    config: {
      metadata: { name: 'agent', attempt: 0 }, image: { image: 'ghcr.io/netrank/netrank:0.1.0' }, command: ['netrank'], args: ['--help'],
      envs: [{ key: 'NODE_NAME', value: 'n1' }, { key: 'A', value: 'x=y' }],
      mounts: [{ containerPath: '/etc/netrank/agent.yaml', hostPath: '/tmp/agent.yaml', readonly: true, propagation: 'PROPAGATION_PRIVATE' }],
      logPath: 'agent.log',
      linux: { securityContext: { runAsUser: { value: '65534' }, runAsGroup: { value: '65534' }, readonlyRootfs: true } },
    },
    sandboxConfig: { metadata: { name: 'img', namespace: 'nr', uid: 'u-2' }, logDirectory: '/logs' },
  })
  const plain = await c.createContainer('s'.repeat(64), sandbox, { name: 'probe', image: 'p' })
  t.equal(plain, cid)
  t.same((got.create?.config as { linux: unknown }).linux, { securityContext: { readonlyRootfs: false, runAsUser: null, runAsGroup: null } }, 'no user given: none sent (the image\'s User applies)')
  await c.startContainer(cid)
  await c.stopContainer(cid, 5)
  await c.removeContainer(cid)
  t.same([got.start, got.stop, got.remove], [{ containerId: cid }, { containerId: cid, timeout: '5' }, { containerId: cid }])
  const st = await c.containerStatus(cid, true)
  t.same(got.status, { containerId: cid, verbose: true })
  t.same(st, {
    id: cid, name: 'agent', attempt: 1, state: 'CONTAINER_EXITED', createdAtNs: 1764878400000000001n, startedAtNs: 1764878400000000002n, finishedAtNs: 1764878400000000003n,
    exitCode: 137, image: 'ghcr.io/netrank/netrank:0.1.0', imageRef: 'sha256:' + 'd'.repeat(64), reason: 'Error', message: 'killed', labels: { a: 'b' }, annotations: {}, logPath: '/logs/agent.log', info: { info: '{"pid":42}' },
  })
})

t.test('ImageStatus (ImageService on the same socket): the image, its uid as bigint, undefined when absent; a failure names the RPC', async (t) => {
  const sock = await serve(t, {
    ImageStatus: (call, cb) => {
      const ref = (call.request.image as { image: string }).image
      if (ref === 'missing:1') { cb(null, {}); return }
      if (ref === 'broken:1') { cb({ code: status.INVALID_ARGUMENT, details: 'bad reference' }); return }
      cb(null, { image: { id: 'sha256:' + 'e'.repeat(64), repoTags: [ref], repoDigests: ['ghcr.io/netrank/netrank-probe@sha256:' + 'f'.repeat(64)], size: '17039360', uid: { value: '65534' } } })
    },
  })
  const c = new CriClient(sock)
  t.teardown(() => c.close())
  t.same(await c.imageStatus('ghcr.io/netrank/netrank-probe:0.1.0'), { id: 'sha256:' + 'e'.repeat(64), repoTags: ['ghcr.io/netrank/netrank-probe:0.1.0'], repoDigests: ['ghcr.io/netrank/netrank-probe@sha256:' + 'f'.repeat(64)], size: 17039360n, uid: 65534n, username: '' })
  t.equal(await c.imageStatus('missing:1'), undefined)
  await t.rejects(c.imageStatus('broken:1'), { name: 'CriError', rpc: 'ImageStatus', grpcCode: 'INVALID_ARGUMENT', message: /ImageStatus at .*cri\.sock failed \(INVALID_ARGUMENT\): bad reference/ })
  const gone = new CriClient(join(sock, '..', 'none.sock'))
  t.teardown(() => gone.close())
  await t.rejects(gone.imageStatus('x'), { rpc: 'ImageStatus', message: /the socket does not exist/ })
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
