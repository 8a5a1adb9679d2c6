// The shim's error registry: every error the shim can return, with a stable name and
// its CNI error code. Codes 1–11 are the CNI spec's well-known codes; 50 is STATUS
// "plugin not available" (CNI 1.1.0); 100+ are ours. The key of each entry equals its
// `code` (checked by a test) so a log line or an error JSON can be grepped back here.
// It lives in contract/ because the agent reads the shim's failure lines
// (contract/shim-failure.ts) and shows every name from the first scrape; cni/errors.ts
// builds the shim's CniError on it.

/** One registry entry: the stable name, the CNI code and the message prefix. */
export interface ErrorSpec {
  readonly code: string
  readonly cniCode: number
  readonly message: string
}

/** Every error the shim returns. Keys equal `code`; 100+ codes are unique. */
export const errors = Object.freeze({
  NR_CNI_INCOMPATIBLE_VERSION: { code: 'NR_CNI_INCOMPATIBLE_VERSION', cniCode: 1, message: 'incompatible CNI version' },
  NR_CNI_VERB_NOT_IN_VERSION: { code: 'NR_CNI_VERB_NOT_IN_VERSION', cniCode: 1, message: 'command not allowed for this cniVersion' },
  NR_CNI_BAD_ENV: { code: 'NR_CNI_BAD_ENV', cniCode: 4, message: 'invalid or missing environment variable' },
  NR_CNI_UNKNOWN_COMMAND: { code: 'NR_CNI_UNKNOWN_COMMAND', cniCode: 4, message: 'unknown CNI_COMMAND' },
  NR_CNI_IO: { code: 'NR_CNI_IO', cniCode: 5, message: 'I/O failure' },
  NR_CNI_DECODE: { code: 'NR_CNI_DECODE', cniCode: 6, message: 'failed to decode stdin' },
  NR_CNI_BAD_CONF: { code: 'NR_CNI_BAD_CONF', cniCode: 7, message: 'invalid network configuration' },
  NR_CNI_API_UNAVAILABLE: { code: 'NR_CNI_API_UNAVAILABLE', cniCode: 11, message: 'Kubernetes API unavailable, try again later' },
  NR_CNI_POD_UID_MISMATCH: { code: 'NR_CNI_POD_UID_MISMATCH', cniCode: 11, message: 'the sandbox belongs to another pod of this name, try again later' },
  NR_CNI_NOT_READY: { code: 'NR_CNI_NOT_READY', cniCode: 50, message: 'plugin not available' },
  NR_CNI_BAD_ANNOTATION: { code: 'NR_CNI_BAD_ANNOTATION', cniCode: 101, message: 'invalid pod annotation' },
  NR_CNI_DUPLICATE_IFNAME: { code: 'NR_CNI_DUPLICATE_IFNAME', cniCode: 102, message: 'interface name used twice' },
  NR_CNI_NETWORK_NOT_FOUND: { code: 'NR_CNI_NETWORK_NOT_FOUND', cniCode: 103, message: 'delegate network conf not found' },
  NR_CNI_PLUGIN_NOT_FOUND: { code: 'NR_CNI_PLUGIN_NOT_FOUND', cniCode: 104, message: 'delegate plugin binary not found in CNI_PATH' },
  NR_CNI_DELEGATE_FAILED: { code: 'NR_CNI_DELEGATE_FAILED', cniCode: 105, message: 'delegate plugin failed' },
  NR_CNI_BAD_KUBECONFIG: { code: 'NR_CNI_BAD_KUBECONFIG', cniCode: 106, message: 'invalid kubeconfig' },
  NR_CNI_NAD_NOT_FOUND: { code: 'NR_CNI_NAD_NOT_FOUND', cniCode: 107, message: 'NetworkAttachmentDefinition not found' },
  NR_CNI_BAD_NAD: { code: 'NR_CNI_BAD_NAD', cniCode: 108, message: 'invalid NetworkAttachmentDefinition' },
  NR_CNI_DELEGATE_DEL_FAILED: { code: 'NR_CNI_DELEGATE_DEL_FAILED', cniCode: 110, message: 'delegate DEL failed; attachment record kept for retry' },
  NR_CNI_CHECK_FAILED: { code: 'NR_CNI_CHECK_FAILED', cniCode: 111, message: 'CHECK found the attachments differ from the record' },
  NR_CNI_BAD_DELEGATE_CONF: { code: 'NR_CNI_BAD_DELEGATE_CONF', cniCode: 112, message: 'invalid delegate conf file' },
  NR_CNI_BAD_DELEGATE_RESULT: { code: 'NR_CNI_BAD_DELEGATE_RESULT', cniCode: 113, message: 'delegate returned an unreadable result' },
  NR_CNI_API_ERROR: { code: 'NR_CNI_API_ERROR', cniCode: 114, message: 'Kubernetes API refused the request' },
  NR_CNI_NO_RECORD: { code: 'NR_CNI_NO_RECORD', cniCode: 115, message: 'no attachment record for this container' },
  NR_CNI_NAD_FORBIDDEN: { code: 'NR_CNI_NAD_FORBIDDEN', cniCode: 116, message: 'NetworkAttachmentDefinition in another namespace' },
  NR_CNI_LOGICAL_NETWORK_NOT_FOUND: { code: 'NR_CNI_LOGICAL_NETWORK_NOT_FOUND', cniCode: 117, message: 'logical network not found' },
  NR_CNI_BAD_LOGICAL_NETWORK: { code: 'NR_CNI_BAD_LOGICAL_NETWORK', cniCode: 118, message: 'invalid logical network' },
  NR_CNI_INTERNAL: { code: 'NR_CNI_INTERNAL', cniCode: 199, message: 'internal error in netrank-cni' },
} satisfies Record<string, ErrorSpec>)
