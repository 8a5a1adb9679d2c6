// The kustomize base and overlays render offline, every object validates against its
// Kubernetes schema, and the pieces agree with each other: the agent config validates
// against the agent's own loader, the shim conf against the shim's parser, every network
// has a probe DaemonSet, and the DaemonSet has what the agent needs on a node.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { discoverProbePairs } from '../../collectors/probes/probe-pods.js'
import type { RecordedAttachment } from '../../collectors/attachment-records-source.js'
import type { PodObject } from '../../collectors/kube-watch.js'
import { ANNOTATIONS } from '../../contract/annotations.js'
import type { Test } from 'tap'
import { parseShimConf } from '../../cni/shim-conf.js'
import { normalizeNetwork } from '../../cni/delegate-conf.js'
import { loadConfig } from '../../agent/config/load-config.js'
import { findObject, KUSTOMIZATIONS, kubectlMissing, MANIFESTS, render, validateObject } from '../support/kustomize.js'
import type { KubeObject } from '../support/kustomize.js'

const skip = kubectlMissing()

interface Container {
  name: string
  image?: string
  command?: string[]
  env?: Array<{ name: string, valueFrom?: { fieldRef?: { fieldPath?: string } } }>
  ports?: Array<{ name?: string, containerPort: number }>
  readinessProbe?: { httpGet?: { path?: string, port?: unknown } }
  livenessProbe?: { httpGet?: { path?: string, port?: unknown } }
  resources?: { requests?: Record<string, string>, limits?: Record<string, string> }
  securityContext?: { capabilities?: { add?: string[], drop?: string[] }, privileged?: boolean }
  volumeMounts?: Array<{ name: string, mountPath: string, readOnly?: boolean, mountPropagation?: string }>
}
interface PodSpec {
  hostNetwork?: boolean
  hostPID?: boolean
  serviceAccountName?: string
  initContainers?: Container[]
  containers: Container[]
  volumes?: Array<{ name: string, hostPath?: { path: string }, configMap?: { name: string, optional?: boolean } }>
}
interface DaemonSetLike extends KubeObject {
  spec: { selector: { matchLabels: Record<string, string> }, template: { metadata: { labels: Record<string, string>, annotations?: Record<string, string> }, spec: PodSpec } }
}

const podSpec = (ds: KubeObject): PodSpec => (ds as DaemonSetLike).spec.template.spec
const data = (cm: KubeObject): Record<string, string> => (cm as unknown as { data: Record<string, string> }).data

// Renders the ConfigMap's agent.yaml the way the agent container does (agent-entrypoint.sh
// --render-only), then loads it with the agent's own config loader.
async function loadRenderedAgentConfig (t: Test, agentYaml: string, node: string): Promise<Awaited<ReturnType<typeof loadConfig>>> {
  const dir = mkdtempSync(join(tmpdir(), 'nr-agentcfg-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  writeFileSync(join(dir, 'agent.yaml'), agentYaml)
  const r = spawnSync('sh', [join(MANIFESTS, 'install', 'agent-entrypoint.sh'), '--render-only'], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_NAME: node, NETRANK_CONFIG: join(dir, 'agent.yaml'), NETRANK_RUN_DIR: join(dir, 'run') },
  })
  if (r.status !== 0) throw new Error(`agent-entrypoint.sh --render-only failed: ${r.stderr}`)
  return loadConfig(r.stdout.trim(), {})
}

t.test('manifests', { skip }, async (t) => {
  for (const dir of KUSTOMIZATIONS) {
    await t.test(`manifests/${dir}`, async (t) => {
      const objects = render(dir)

      t.test('every rendered object validates against its Kubernetes schema', async (t) => {
        t.ok(objects.length >= 7, `rendered ${objects.length} objects`)
        for (const o of objects) t.doesNotThrow(() => validateObject(o), `${o.kind}/${o.metadata.name}`)
      })

      t.test('every namespaced object lands in the netrank namespace', async (t) => {
        const clusterScoped = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition'])
        for (const o of objects.filter((o) => !clusterScoped.has(o.kind))) t.equal(o.metadata.namespace, 'netrank', `${o.kind}/${o.metadata.name}`)
      })

      const cm = findObject(objects, 'ConfigMap', 'netrank-config')
      const agentDs = findObject(objects, 'DaemonSet', 'netrank-agent')
      const spec = podSpec(agentDs)

      await t.test('the ConfigMap\'s agent config, rendered with the node name, is valid for the agent', async (t) => {
        const yamlText = data(cm)['agent.yaml']
        t.type(yamlText, 'string', 'agent.yaml is in the ConfigMap')
        const config = await loadRenderedAgentConfig(t, yamlText ?? '', 'worker-1')
        t.equal(config.node, 'worker-1', 'node comes from NODE_NAME')
        t.equal(config.listen.host, '0.0.0.0', 'listens on the node\'s addresses so Prometheus can scrape it')
        t.equal(config.kubernetes.inCluster, true, 'uses the pod\'s service account')
        t.ok(config.audit.dir.startsWith('/var/lib/netrank/'), 'the audit lives on the state hostPath')
        const port = spec.containers.find((c) => c.name === 'agent')?.ports?.find((p) => p.name === 'http')?.containerPort
        t.equal(port, config.listen.port, 'the container port is the port the agent listens on')
      })

      await t.test('the shim conf parses with the shim\'s own parser and defaults to a listed network', async (t) => {
        const conflist = JSON.parse(data(cm)['00-netrank.conflist'] ?? 'null') as { cniVersion: string, name: string, plugins: Array<Record<string, unknown>> }
        t.equal(conflist.plugins.length, 1, 'netrank is the only plugin of its conflist')
        // the runtime hands each plugin its conf with the list's cniVersion and name, as libcni does
        const conf = parseShimConf({ ...conflist.plugins[0], cniVersion: conflist.cniVersion, name: conflist.name })
        t.equal(conf.type, 'netrank-cni')
        t.equal(conf.kubeconfig, '/etc/cni/net.d/netrank.d/netrank.kubeconfig', 'where install-cni.sh writes the kubeconfig')
        t.equal(conf.selector.url, 'http://127.0.0.1:9797', 'the agent on the node\'s loopback (hostNetwork)')
        t.same(conflist.plugins[0]?.capabilities, { portMappings: true, bandwidth: true, mac: true, ips: true }, 'hostPort, bandwidth, mac and ips runtime config reach the delegates')
        t.equal(conf.stateDir, '/var/lib/netrank', 'the attachment records land on the agent\'s state hostPath')
        const config = await loadRenderedAgentConfig(t, data(cm)['agent.yaml'] ?? '', 'worker-1')
        t.equal(conf.agent.socket, config.listen.socket, 'the shim asks the agent on the socket it listens on')
        const agentMounts = spec.containers.find((c) => c.name === 'agent')?.volumeMounts ?? []
        const mount = agentMounts.find((m) => conf.agent.socket.startsWith(`${m.mountPath}/`))
        const volume = spec.volumes?.find((v) => v.name === mount?.name) as { hostPath?: { path?: string } } | undefined
        t.equal(volume?.hostPath?.path, mount?.mountPath, `the socket's folder ${mount?.mountPath ?? '(none)'} is the host's own, where the shim finds it`)
        const plugins = config.plugins.map((p) => p.name)
        t.ok(conf.defaultPlugins.length > 0, 'un-annotated pods get a default network')
        for (const d of conf.defaultPlugins) t.ok(plugins.includes(d), `default network ${d} is one of the agent's plugins ${plugins.join(', ')}`)
      })

      await t.test('every network of the agent config has one probe DaemonSet annotated cni: <network>', async (t) => {
        const config = await loadRenderedAgentConfig(t, data(cm)['agent.yaml'] ?? '', 'worker-1')
        const probes = objects.filter((o) => o.kind === 'DaemonSet' && o.metadata.labels?.['app.kubernetes.io/component'] === 'probe') as DaemonSetLike[]
        if (dir === 'base') {
          t.same(probes, [], 'the base has no probes: overlays generate them for their networks')
          return
        }
        const annotated = probes.map((p) => p.spec.template.metadata.annotations?.cni).sort()
        t.same(annotated, config.plugins.map((p) => p.name).sort(), 'probe networks = agent plugins')
        for (const p of probes) {
          const network = p.spec.template.metadata.annotations?.cni ?? ''
          t.equal(p.metadata.name, `netrank-probe-${network}`)
          const podLabel = config.collectors.probes.podLabel
          t.equal(p.spec.selector.matchLabels[podLabel], network, `${p.metadata.name} selects only its own pods`)
          // the agent's own discovery, on two pods made from this template (one per node), finds the pair
          const pod = (name: string, node: string, ip: string): PodObject => ({
            metadata: { namespace: 'netrank', name, labels: { ...p.spec.template.metadata.labels }, annotations: { ...p.spec.template.metadata.annotations, [ANNOTATIONS.networkStatus]: JSON.stringify([{ name: network, ips: [ip] }]) } },
            spec: { nodeName: node },
            status: { phase: 'Running' },
          })
          const found = discoverProbePairs({
            node: 'worker-1',
            podLabel,
            plugins: [network],
            pods: [pod(`${p.metadata.name}-a`, 'worker-1', '10.0.1.2'), pod(`${p.metadata.name}-b`, 'worker-2', '10.0.2.2')],
            attachments: [{ namespace: 'netrank', pod: `${p.metadata.name}-a`, podUid: undefined, containerId: 'c1', network, ifname: 'eth0', netns: '/var/run/netns/x', ip: '10.0.1.2', state: 'added' } satisfies RecordedAttachment],
          })
          t.same(found.gaps, [], `the agent (collectors.probes.podLabel ${podLabel}) selects ${p.metadata.name}'s pods`)
          t.match(found.pairs, [{ plugin: network, client: { node: 'worker-1' }, server: { node: 'worker-2', ip: '10.0.2.2' } }])
          const ps = p.spec.template.spec
          t.notOk(ps.hostNetwork, 'a probe pod is attached through the network, not the host\'s')
          t.match(ps.containers[0]?.image, /netrank-probe:/, 'runs the probe image (iperf3 server)')
          t.equal(ps.containers[0]?.ports?.[0]?.containerPort, 5201, 'iperf3\'s port')
          const rr = ps.containers.find((c) => c.name === 'sockperf')
          t.same(rr?.command, ['sockperf', 'server', '--tcp', '-p', String(config.collectors.probes.tcpRr.port)], 'a sockperf server on the port the agent\'s TCP_RR probe uses')
          t.equal(rr?.ports?.[0]?.containerPort, config.collectors.probes.tcpRr.port)
        }
        const selectors = probes.map((p) => JSON.stringify(p.spec.selector.matchLabels))
        t.equal(new Set(selectors).size, selectors.length, 'no two probe DaemonSets share a selector')
      })

      t.test('the agent DaemonSet runs on the host network with what it needs to enter probe pods', async (t) => {
        t.equal(spec.hostNetwork, true)
        t.notOk(spec.hostPID, 'hostPID is not needed: netns are entered by their /var/run/netns paths')
        t.equal(spec.serviceAccountName, 'netrank')
        const agent = spec.containers.find((c) => c.name === 'agent')
        t.ok(agent, 'has the agent container')
        if (agent === undefined) return
        t.same(agent.securityContext?.capabilities?.add?.slice().sort(), ['NET_ADMIN', 'SYS_ADMIN'])
        t.same(agent.securityContext?.capabilities?.drop, ['ALL'], 'nothing else')
        t.notOk(agent.securityContext?.privileged, 'not privileged')
        t.equal(agent.readinessProbe?.httpGet?.path, '/readyz')
        t.equal(agent.livenessProbe?.httpGet?.path, '/healthz')
        t.equal(agent.readinessProbe?.httpGet?.port, 'http')
        const nodeName = agent.env?.find((e) => e.name === 'NODE_NAME')
        t.equal(nodeName?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName', 'NODE_NAME from the downward API')
        const hostPaths = new Map((spec.volumes ?? []).filter((v) => v.hostPath !== undefined).map((v) => [v.name, v.hostPath?.path]))
        const mounts = new Map((agent.volumeMounts ?? []).map((m) => [hostPaths.get(m.name) ?? `(${m.name})`, m]))
        const want: Array<[string, boolean]> = [
          ['/var/run/netns', true], ['/var/lib/netrank', false], ['/var/lib/cni/networks', true], ['/etc/cni/net.d', true], ['/opt/cni/bin', true],
        ]
        for (const [path, readOnly] of want) {
          const m = mounts.get(path)
          t.ok(m, `mounts ${path}`)
          t.equal(m?.mountPath, path, `${path} at the same path inside (attachment records name host paths)`)
          t.equal(m?.readOnly === true, readOnly, `${path} ${readOnly ? 'read-only' : 'writable'}`)
        }
        t.equal(mounts.get('/var/run/netns')?.mountPropagation, 'HostToContainer', 'netns created after the agent started are visible')
      })

      t.test('every container has resource requests and limits', async (t) => {
        for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
          t.ok(c.resources?.requests?.cpu !== undefined && c.resources.requests.memory !== undefined, `${c.name} requests cpu and memory`)
          t.ok(c.resources?.limits?.memory !== undefined, `${c.name} has a memory limit`)
        }
      })

      t.test('the init container and the token sync run the image\'s install script', async (t) => {
        const init = spec.initContainers?.find((c) => c.name === 'install-cni')
        t.same(init?.command, ['/usr/local/lib/netrank/install-cni.sh'])
        const sync = spec.containers.find((c) => c.name === 'cni-token-sync')
        t.same(sync?.command, ['/usr/local/lib/netrank/install-cni.sh', '--watch'])
        for (const c of [init, sync]) {
          const paths = new Map((c?.volumeMounts ?? []).map((m) => [m.mountPath, m.name]))
          const hostPath = (name: string | undefined): string | undefined => spec.volumes?.find((v) => v.name === name)?.hostPath?.path
          t.equal(hostPath(paths.get('/host/opt/cni/bin')), '/opt/cni/bin', `${c?.name}: CNI_BIN_DIR default is the host's /opt/cni/bin`)
          t.equal(hostPath(paths.get('/host/etc/cni/net.d')), '/etc/cni/net.d', `${c?.name}: CNI_CONF_DIR default is the host's /etc/cni/net.d`)
          t.ok(paths.has('/etc/netrank'), `${c?.name}: reads the ConfigMap at /etc/netrank (NETRANK_CONFLIST default)`)
        }
        const cmVolume = spec.volumes?.find((v) => v.name === 'config')
        t.equal(cmVolume?.configMap?.name, cm.metadata.name, 'mounts the generated ConfigMap (hash-suffixed name)')
      })

      t.test('the Service selects the agent pods on the agent port', async (t) => {
        const svc = findObject(objects, 'Service', 'netrank') as KubeObject & { spec: { selector: Record<string, string>, ports: Array<{ name: string, port: number, targetPort: unknown }> } }
        const labels = (agentDs as DaemonSetLike).spec.template.metadata.labels
        for (const [k, v] of Object.entries(svc.spec.selector)) t.equal(labels[k], v, `agent pods carry ${k}=${v}`)
        const probeLabels = objects.filter((o) => o.kind === 'DaemonSet' && o !== agentDs).map((o) => (o as DaemonSetLike).spec.template.metadata.labels)
        for (const l of probeLabels) t.notOk(Object.entries(svc.spec.selector).every(([k, v]) => l[k] === v), 'probe pods are not selected')
        t.same(svc.spec.ports.map((p) => [p.name, p.port, p.targetPort]), [['http', 9797, 'http']])
      })

      if (dir !== 'base') {
        t.test('the ServiceMonitor scrapes the Service\'s http port and labels every series with its node', async (t) => {
          const sm = findObject(objects, 'ServiceMonitor', 'netrank') as KubeObject & { spec: { selector: { matchLabels: Record<string, string> }, jobLabel: string, endpoints: Array<{ port: string, path: string, honorLabels?: boolean, relabelings?: Array<{ sourceLabels?: string[], targetLabel?: string }> }> } }
          const svc = findObject(objects, 'Service', 'netrank')
          for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) t.equal(svc.metadata.labels?.[k], v, `Service has ${k}=${v}`)
          t.equal(svc.metadata.labels?.[sm.spec.jobLabel], 'netrank', 'job="netrank", which the alert rules select on')
          t.equal(sm.spec.endpoints[0]?.port, 'http')
          t.equal(sm.spec.endpoints[0]?.path, '/metrics')
          t.equal(sm.spec.endpoints[0]?.honorLabels, true, 'keeps the agent\'s own node label')
          t.ok(sm.spec.endpoints[0]?.relabelings?.some((r) => r.targetLabel === 'node' && r.sourceLabels?.[0] === '__meta_kubernetes_pod_node_name'))
        })

        t.test('the dashboard ConfigMap carries the Grafana sidecar label', async (t) => {
          const dash = findObject(objects, 'ConfigMap', 'netrank-dashboard')
          t.equal(dash.metadata.labels?.grafana_dashboard, '1')
        })
      }

      t.test('extra network confs installed by the overlay are valid delegate confs', async (t) => {
        const nets = objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('netrank-networks'))
        if (dir !== 'overlays/whereabouts') {
          t.same(nets, [], 'none here')
          return
        }
        t.equal(nets.length, 1)
        const files = data(nets[0] as KubeObject)
        t.ok(Object.keys(files).length > 0)
        const config = await loadRenderedAgentConfig(t, data(cm)['agent.yaml'] ?? '', 'worker-1')
        for (const [file, text] of Object.entries(files)) {
          t.match(file, /\.(conf|conflist|json)$/, `${file} has a conf extension`)
          const net = normalizeNetwork(JSON.parse(text), file)
          t.ok(config.plugins.some((p) => p.name === net.name), `network ${net.name} is one of the agent's plugins`)
        }
        const volume = spec.volumes?.find((v) => v.name === 'networks')
        t.equal(volume?.configMap?.name, nets[0]?.metadata.name, 'the DaemonSet mounts the generated networks ConfigMap')
      })
    })
  }
})

t.test('an object of a kind without a schema, or with a wrong type, is refused with its name', async (t) => {
  t.throws(() => validateObject({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x' } }), /Pod\/x: no schema for kind Pod/)
  t.throws(() => validateObject({ apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { template: {} } }), /DaemonSet\/ds: .*selector/)
  t.throws(() => validateObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { n: 1 } }), /ConfigMap\/cm: .*must be string/)
  t.throws(() => validateObject({ apiVersion: 'apps/v1beta2', kind: 'DaemonSet', metadata: { name: 'old' } }), /apiVersion apps\/v1beta2, expected apps\/v1/)
})

t.test('manifests/uninstall renders a valid DaemonSet that runs install-cni.sh --uninstall on the host dirs', { skip }, async (t) => {
  const objects = render('uninstall')
  t.same(objects.map((o) => `${o.kind}/${o.metadata.name}`), ['DaemonSet/netrank-uninstall'])
  for (const o of objects) t.doesNotThrow(() => validateObject(o))
  const spec = podSpec(objects[0] as KubeObject)
  const init = spec.initContainers?.[0]
  t.same(init?.command, ['/usr/local/lib/netrank/install-cni.sh', '--uninstall'])
  const hostPath = (mountPath: string): string | undefined =>
    spec.volumes?.find((v) => v.name === init?.volumeMounts?.find((m) => m.mountPath === mountPath)?.name)?.hostPath?.path
  t.equal(hostPath('/host/opt/cni/bin'), '/opt/cni/bin')
  t.equal(hostPath('/host/etc/cni/net.d'), '/etc/cni/net.d')
})
