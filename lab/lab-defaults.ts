/**
 * Every default of the lab in one place, units in the names: where it lives, the three
 * networks it builds, the agent's short lab intervals and the process timeouts.
 */

/** One lab network: a bridge with host-local, optionally shaped by the bandwidth plugin. */
export interface LabNetworkSpec {
  name: string
  bridge: string
  subnet: string
  /** bandwidth plugin rate for ingress and egress, bits/s; absent = not shaped */
  shapeBps?: number
  /** one line for people: what makes this network different */
  character: string
}

export const LAB_DEFAULTS = Object.freeze({
  dir: '/run/netrank-lab', // NETRANK_LAB_DIR or --dir override it
  dirEnv: 'NETRANK_LAB_DIR',
  node: 'lab-node',
  probeNamespace: 'netrank-probes',
  podNamespace: 'default',
  probeLabel: 'netrank.io/probe',
  probePort: 5201, // iperf3's default port; the agent's RTT probe connects to it too
  probeServerIdleSeconds: 60, // iperf3 -s --idle-timeout: a server stuck on a half-open client resets itself
  ifname: 'eth0',
  cniVersion: '1.0.0',
  defaultPlugins: ['bridge-fast'],
  selectorTimeoutMs: 300, // 0.3 s, DESIGN §3.2
  // One lab per machine: the bridge names are fixed, so two labs would share them.
  ownerFile: '/run/netrank-lab.owner.json',
  networks: Object.freeze([
    { name: 'bridge-fast', bridge: 'nrbr-fast', subnet: '10.66.1.0/24', character: 'plain Linux bridge, no shaping, a /24 pool' },
    { name: 'bridge-capped', bridge: 'nrbr-capped', subnet: '10.66.2.0/24', shapeBps: 200_000_000, character: 'bridge shaped to 200 Mbit/s each way (bandwidth plugin, tbf)' },
    { name: 'bridge-small', bridge: 'nrbr-small', subnet: '10.66.3.0/28', character: 'plain bridge with a small /28 pool (13 pod addresses)' },
  ] as LabNetworkSpec[]),
  shapeBurstBits: 2_000_000, // 2 Mbit bucket: ~10 ms at 200 Mbit/s, enough for TCP to fill the rate
  // the agent's collector periods, short so a lab reacts within seconds
  agent: Object.freeze({
    cadvisorIntervalMs: 2_000, // 2 s
    cadvisorWindowMs: 10_000, // 10 s rate window
    rttIntervalMs: 3_000, // 3 s
    iperf3IntervalMs: 20_000, // 20 s
    iperf3DurationSeconds: 2,
    iperf3OmitSeconds: 1, // 1 s of TCP slow start left out (iperf3 then runs 1 + 2 s)
    ipamIntervalMs: 2_000, // 2 s
    probeSamples: 5,
    probeBudgetBytes: 2 ** 40, // 1 TiB of probe traffic per window: local veths, not a paid link
    probeBudgetWindowMs: 3_600_000, // 1 h
  }),
  waitReadyMs: 20_000, // 20 s for the stand-ins and the agent to answer
  pollMs: 100, // 0.1 s between readiness polls
  stopGraceMs: 3_000, // 3 s between SIGTERM and SIGKILL
  shimTimeoutMs: 30_000, // 30 s for one shim ADD or DEL (the plugins take ms; the API budget is 2.5 s)
  lockWaitMs: 30_000, // 30 s waiting for another lab command holding the state lock
  trafficPortBase: 5300, // `lab traffic` servers listen on 5300, 5301…: never on the probes' 5201
  trafficGraceSeconds: 15, // iperf3 client: its -t plus this before it is killed
})
