/**
 * Every default of the lab in one place, units in the names: where it lives, the four
 * networks it builds, the agent's short lab intervals and the process timeouts.
 */

/** One lab network: a bridge with host-local, shaped by the bandwidth plugin. */
export interface LabNetworkSpec {
  name: string
  bridge: string
  subnet: string
  /** bandwidth plugin rate for ingress and egress, bits/s; absent = not shaped (a lab state of an older lab) */
  shapeBps?: number
  /** one line for people: what makes this network different */
  character: string
}

// Why every network is shaped: unshaped veth throughput is CPU-bound (15–23 Gbit/s pod to
// pod on a 2-core machine, swinging with whatever else runs), so two unshaped networks never
// measure "equally good", probes of them disagree by more than the selector's tieBand, and
// saturating one takes both cores away from everything else. tbf through the bandwidth
// plugin makes each capacity a property of the network, not of the machine's load: iperf3
// measures ~0.95 × the rate every time, and 1 Gbit/s of demo traffic costs little CPU.
import { PROBE_POD_LABEL } from '../contract/node-defaults.js'

export const LAB_DEFAULTS = Object.freeze({
  dir: '/run/netrank-lab', // NETRANK_LAB_DIR or --dir override it
  dirEnv: 'NETRANK_LAB_DIR',
  node: 'lab-node',
  probeNamespace: 'netrank-probes',
  podNamespace: 'default',
  probeLabel: PROBE_POD_LABEL,
  probePort: 5201, // iperf3's default port; the agent's RTT probe connects to it too
  probeRrPort: 11111, // sockperf's default port: TCP_RR transactions (every probe pod runs a server)
  probeServerIdleSeconds: 60, // iperf3 -s --idle-timeout: a server stuck on a half-open client resets itself
  ifname: 'eth0',
  cniVersion: '1.0.0',
  defaultPlugins: ['bridge-fast'],
  selectorTimeoutMs: 300, // 0.3 s, docs/contract.md#shim-conf
  // One lab per machine: the bridge names are fixed, so two labs would share them.
  ownerFile: '/run/netrank-lab.owner.json',
  // Catalog order is the selector's tie-break order: bridge-fast first, its twin bridge-wide
  // second, so "equally good" is bridge-fast vs bridge-wide.
  networks: Object.freeze([
    { name: 'bridge-fast', bridge: 'nrbr-fast', subnet: '10.66.1.0/24', shapeBps: 1_000_000_000, character: 'bridge shaped to 1 Gbit/s each way, a /24 pool' },
    { name: 'bridge-wide', bridge: 'nrbr-wide', subnet: '10.66.4.0/24', shapeBps: 1_000_000_000, character: 'bridge-fast\'s twin: 1 Gbit/s, a /24 pool (equally good)' },
    { name: 'bridge-capped', bridge: 'nrbr-capped', subnet: '10.66.2.0/24', shapeBps: 200_000_000, character: 'bridge shaped to 200 Mbit/s each way, a /24 pool' },
    { name: 'bridge-small', bridge: 'nrbr-small', subnet: '10.66.3.0/28', shapeBps: 500_000_000, character: 'bridge shaped to 500 Mbit/s, a small /28 pool (13 pod addresses): it fills up' },
  ] as LabNetworkSpec[]),
  // tbf bucket: at least 2 Mbit, else 10 ms worth of the rate (10 Mbit at 1 Gbit/s) — a
  // bucket much under rate × timer tick caps TCP below the rate on a busy machine
  shapeBurstBits: 2_000_000,
  shapeBurstSeconds: 0.01,
  // the agent's collector periods, short so a lab reacts within seconds
  agent: Object.freeze({
    cadvisorIntervalMs: 2_000, // 2 s
    // 4 s rate window (two scrapes): a load started now shows at its full rate after two
    // collection intervals; a 10 s window would show 40 % of it then, before the store's mean
    cadvisorWindowMs: 4_000,
    rttIntervalMs: 3_000, // 3 s
    tcpRrIntervalMs: 60_000, // 1 min: each run holds the probe queue ~6.5 s (floor + peer)
    iperf3IntervalMs: 17_500, // 17.5 s ± 14 % jitter: a probe every 15–20 s per network
    iperf3JitterRatio: 0.143,
    iperf3DurationSeconds: 2,
    iperf3OmitSeconds: 1, // 1 s of TCP slow start left out (iperf3 then runs 1 + 2 s)
    ipamIntervalMs: 2_000, // 2 s
    probeSamples: 5,
    probeBudgetBytes: 2 ** 40, // 1 TiB of probe traffic per window: local veths, not a paid link
    probeBudgetWindowMs: 3_600_000, // 1 h
  }),
  // a short KPI window for the lab's selector: the store averages traffic rates over its
  // window (5 min by default), so a 1 Gbit/s load started now would move a 5 min mean by a
  // few percent; over 10 s the ranking shows it within two collection intervals, and RTT
  // medians still see 3 probes. tieBand and maxOccupancy stay the agent's defaults
  // (bridge-small's 13 addresses: 12/13 = 0.92 is under the default 0.95, 13/13 is not).
  selector: Object.freeze({
    windowMs: 10_000, // 10 s of KPI samples per (plugin, KPI)
  }),
  waitReadyMs: 20_000, // 20 s for the stand-ins and the agent to answer
  pollMs: 100, // 0.1 s between readiness polls
  kubeletPollMs: 100, // 0.1 s between the lab kubelet's reconcile rounds (API watch cache vs the state)
  sandboxWaitMs: 90_000, // 90 s for the lab kubelet to network a pod (RunPodSandbox: CNI ADD through the shim)
  stopGraceMs: 3_000, // 3 s between SIGTERM and SIGKILL
  shimTimeoutMs: 30_000, // 30 s for one shim ADD or DEL (the plugins take ms; the API budget is 2.5 s)
  lockWaitMs: 30_000, // 30 s waiting for another lab command holding the state lock
  trafficPortBase: 5300, // `lab traffic` servers listen on 5300, 5301…: never on the probes' 5201
  trafficGraceSeconds: 15, // iperf3 client: its -t plus this before it is killed
})
