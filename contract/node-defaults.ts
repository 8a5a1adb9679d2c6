// Where things are on a node, and where the agent listens: the defaults the shim's conf and
// the agent's config share, so the two halves agree without either importing the other.

/** Default paths on a node. */
export const NODE_PATHS = Object.freeze({
  confDir: '/etc/cni/net.d', // the container runtime's CNI conf dir
  stateDir: '/var/lib/netrank', // the shim's attachment records live in <stateDir>/attachments
  hostLocalDataDir: '/var/lib/cni/networks', // host-local's own default dataDir
  // the agent's unix socket for the shim's fast path (root only: the directory 0700, the socket 0600)
  agentSocket: '/run/netrank/agent.sock',
})

/**
 * The label that marks a probe pod, its value the network it probes: the agent's default
 * `collectors.probes.podLabel`, the lab's probe pods and the manifests' probe DaemonSets
 * (test/unit/manifests-render.test.ts checks the agent selects them).
 */
export const PROBE_POD_LABEL = 'netrank.io/probe'

/** Where the agent answers the shim by default: loopback, so /v1/select is for the node's own shim. */
export const AGENT_ENDPOINT = Object.freeze({
  host: '127.0.0.1',
  port: 9797,
})

/** The agent's default URL, as the shim and the CLI use it. */
export const DEFAULT_AGENT_URL = `http://${AGENT_ENDPOINT.host}:${AGENT_ENDPOINT.port}`
