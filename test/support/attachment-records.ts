// A minimal attachment record as the shim writes it (contract/attachment-record.ts): one
// attachment of network 'a' on eth0 with 10.0.0.2/24, for the records-source tests.
import { RECORD_FORMAT } from '../../contract/attachment-record.js'
import type { AttachmentRecord } from '../../contract/attachment-record.js'

export function record (containerId: string, over: Partial<AttachmentRecord> = {}): AttachmentRecord {
  const at = new Date().toISOString()
  return {
    format: RECORD_FORMAT, containerId, ifname: 'eth0', netns: '/var/run/netns/x', cniVersion: '1.0.0',
    pod: { namespace: 'default', name: containerId, uid: '' }, reason: 'smart', decisionId: 'd', plugins: ['a'],
    state: 'added', createdAt: at, updatedAt: at, addDurationMs: 120,
    attachments: [{ network: 'a', ifname: 'eth0', conf: { name: 'a' } as never, result: { ips: [{ address: '10.0.0.2/24' }] } }],
    ...over,
  }
}
