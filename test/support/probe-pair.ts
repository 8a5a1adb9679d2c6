/**
 * One plugin `net` with two probe pods on node n1 (probe-a 10.0.0.2 the client, probe-b
 * 10.0.0.3 the server), as the probes collector's unit tests hand it: the pods' cache, their
 * attachment records, and the settings every such test shares (runners replaced per test).
 */
import type { AttachmentRecordsSource, RecordedAttachment } from '../../collectors/attachment-records-source.js'
import type { KubeCache, PodObject } from '../../collectors/kube-watch.js'
import type { ProbesCollectorOptions } from '../../collectors/probes/probes-collector.js'

export const LABEL = 'netrank.io/probe'
const pods: PodObject[] = ['a', 'b'].map((n) => ({ metadata: { namespace: 'probes', name: `probe-${n}`, labels: { [LABEL]: 'net' } }, spec: { nodeName: 'n1' } }))
export const cache: KubeCache<PodObject> = { list: () => pods, synced: true, lastError: undefined, start: async () => {}, stop: async () => {} }
const rec = (pod: string, ip: string): RecordedAttachment => ({ namespace: 'probes', pod, podUid: undefined, containerId: `c-${pod}`, network: 'net', ifname: 'eth0', netns: `/var/run/netns/${pod}`, ip, state: 'added' })
export const records = { read: () => ({ atMs: 0, records: [], skipped: [], attachments: [rec('probe-a', '10.0.0.2'), rec('probe-b', '10.0.0.3')] }) } as unknown as AttachmentRecordsSource

/** The shared settings: one iperf3 a minute with a 1-byte budget (every run skipped), RTT every 10 s. */
export const PAIR_SETTINGS: Omit<ProbesCollectorOptions, 'runners'> = {
  node: 'n1', plugins: ['net'], podLabel: LABEL, port: 5201,
  iperf3: { intervalMs: 60_000, durationSeconds: 1, omitSeconds: 0, timeoutMs: 5000, jitterRatio: 0 },
  rtt: { intervalMs: 10_000, count: 3, connectTimeoutMs: 100 },
  budget: { maxBytes: 1, windowMs: 3_600_000 }, samples: 5, records, probePods: async () => cache,
}
