// ADD: read the pod's annotations, choose the networks, write the plan, run every
// delegate, merge the results, record them, patch the pod, print the result in the
// conf's cniVersion. A failed delegate rolls back the ones already added.
import { readPodRequest } from './annotations.js'
import { ANNOTATIONS } from '../contract/annotations.js'
import { RECORD_FORMAT, readRecord, removeRecord, writeRecord, type AttachmentRecord } from '../contract/attachment-record.js'
import { handOffStatus } from './agent-client.js'
import { addInputs } from './add-inputs.js'
import { selfOwner } from './owner.js'
import { type SelectRequest } from '../contract/select-api.js'
import { chooseNetworks } from './choose-networks.js'
import type { logicalResolver } from './logical-resolve.js'
import { deleteAttachments, deleteFromRecord } from './cmd-del.js'
import { loadNetworks, type NetworkCatalog } from './delegate-conf.js'
import { preloadDelegateExec } from './delegate-exec.js'
import { addNetwork, type DelegateContext } from './delegate-network.js'
import type { CniEnv } from './env.js'
import { fail, CniError } from './errors.js'
import type { KubeClient } from './kube-client.js'
import { log } from './log.js'
import { mergeResults } from './merge-result.js'
import { assertNadAllowed, nadToNetwork } from './nad-resolve.js'
import { kubeClientFor, podFromArgs, type PodRef } from './pod-identity.js'
import { statusAnnotations, type AddedAttachment } from './pod-status-patch.js'
import type { ShimConf } from './shim-conf.js'
import { convertResult, normalizeResult, type CniResult } from './versions.js'

function saveRecord (stateDir: string, record: AttachmentRecord): void {
  try {
    writeRecord(stateDir, record)
  } catch (err) {
    throw fail('NR_CNI_IO', `cannot write the attachment record in ${stateDir}: ${(err as Error).message}`, err)
  }
}


/**
 * The sandbox must be for the pod the API holds under that name now: a StatefulSet pod
 * deleted and recreated under the same name has a new uid, and an ADD for the old one's
 * sandbox would attach the new pod's networks and overwrite its network-status. Code 11
 * before anything is attached (the kubelet tears that sandbox down).
 */
function assertSamePod (pod: PodRef, uid: string, annotations: Record<string, string>): void {
  if (pod.uid === '' || uid === '' || uid === pod.uid || annotations[ANNOTATIONS.mirror] !== undefined) return
  throw fail('NR_CNI_POD_UID_MISMATCH', `the sandbox is for ${pod.namespace}/${pod.name} uid ${pod.uid}, but the API's ${pod.namespace}/${pod.name} is uid ${uid} (the pod was recreated); nothing was attached`)
}

/**
 * The status annotations: handed to the agent on the agent path (it patches them in the
 * background, retried, with the uid as precondition: the pod never waits for the API), else
 * — or when the agent does not take them — merge-patched here. Never fails the ADD: the
 * network is up, and a missing status annotation must not fail the pod.
 */
async function writeStatus (conf: ShimConf, path: 'agent' | 'direct', pod: PodRef, annotations: Record<string, string>, apiClient: () => Promise<KubeClient | undefined>): Promise<void> {
  if (path === 'agent') {
    const handed = await handOffStatus(conf.agent.socket, { namespace: pod.namespace, name: pod.name, uid: pod.uid, annotations }, conf.agent.timeoutMs)
    if (handed.ok) return
    log.warn({ why: handed.detail }, 'the agent did not take the pod status; patching it directly')
  }
  try {
    const client = await apiClient()
    if (client === undefined) return
    // with the sandbox's uid as precondition: never onto a pod recreated meanwhile
    const outcome = await client.patchPodAnnotations(pod.namespace, pod.name, annotations, pod.uid)
    if (outcome === 'gone') log.info({ pod }, 'pod vanished before the status patch; ignored')
  } catch (err) {
    log.warn({ err }, 'could not patch pod annotations')
  }
}

/** The ADD verb. Returns the result to print (in conf.cniVersion). */
export async function cmdAdd (conf: ShimConf, env: CniEnv): Promise<CniResult> {
  const started = Date.now()
  const ctx: DelegateContext = { containerId: env.containerId, netns: env.netns, argsRaw: env.argsRaw, cniPath: env.path, timeoutMs: conf.delegateTimeoutMs }
  const pod = podFromArgs(env)
  // phase timings (ms since start) for the log: where an operator's slow ADD went
  const phases: Record<string, number> = {}
  const mark = (name: string): void => { phases[name] = Date.now() - started }
  // the API client is made only when a path needs it (the agent path: only as its fallback)
  let client: KubeClient | undefined
  let clientMade: Promise<KubeClient | undefined> | undefined
  const apiClient = async (): Promise<KubeClient | undefined> => {
    clientMade ??= kubeClientFor(conf).then((c) => { client = c; return c })
    return await clientMade
  }
  try {
    let catalog: NetworkCatalog | undefined
    const inputs = await addInputs(conf, env, pod, apiClient, () => {
      void preloadDelegateExec()
      catalog = loadNetworks(conf.confDir, { name: conf.name, type: conf.type })
    }, mark)
    catalog ??= loadNetworks(conf.confDir, { name: conf.name, type: conf.type })
    const cat = catalog
    const annotations = inputs.pod?.annotations ?? {}
    const podExists = inputs.pod !== undefined
    if (inputs.pod !== undefined && pod !== null) assertSamePod(pod, inputs.pod.uid, annotations)
    mark('podRead')

    const request = readPodRequest(annotations, pod?.namespace ?? 'default')
    let logical: ReturnType<typeof logicalResolver> | undefined
    const plan = await chooseNetworks(request, {
      catalog: cat,
      confDir: conf.confDir,
      defaultPlugins: conf.defaultPlugins,
      primaryIfname: env.ifname,
      resolveNad: async (req) => {
        if (conf.kubeconfig === undefined) throw fail('NR_CNI_BAD_CONF', 'the networks annotation needs "kubeconfig" in the shim conf')
        assertNadAllowed(req, pod?.namespace ?? 'default', conf.nadIsolation)
        return nadToNetwork(req, await inputs.nad(req), cat, conf.confDir)
      },
      resolveLogical: async (req) => {
        // loaded only for logical networks: ipaddr.js stays off every other ADD's start-up
        const { logicalResolver: make } = await import('./logical-resolve.js')
        logical ??= make({
          namespace: pod?.namespace ?? 'default',
          catalog: cat,
          confDir: conf.confDir,
          get: async (path) => {
            const c = await apiClient()
            if (c === undefined) throw fail('NR_CNI_BAD_CONF', 'logical networks (the networks annotation) need "kubeconfig" in the shim conf')
            return await c.request('GET', path)
          },
        })
        return await logical(req)
      },
      select: (profile, expectedBandwidth) => {
        const body: SelectRequest = { namespace: pod?.namespace ?? '', pod: pod?.name ?? '', containerId: env.containerId, ifname: env.ifname }
        if (pod !== null && pod.uid !== '') body.podUid = pod.uid
        if (profile !== undefined) body.profile = profile
        if (expectedBandwidth !== undefined) body.expectedBandwidth = expectedBandwidth
        return inputs.select(body)
      },
    })
    mark('chosen')
    if (plan.reason.startsWith('fallback-')) log.warn({ reason: plan.reason }, 'smart selection fell back')

    // A record left by an ADD that never finished (or was never DELeted): clean it first.
    let stale: AttachmentRecord | undefined
    try {
      stale = readRecord(conf.stateDir, env.containerId, env.ifname)
    } catch (err) {
      throw fail('NR_CNI_IO', `attachment record for ${env.containerId} is unreadable: ${(err as Error).message}`, err)
    }
    if (stale !== undefined) {
      log.warn({ state: stale.state }, 'ADD over an existing attachment record; deleting its attachments first')
      await deleteFromRecord(conf.stateDir, stale, { ...ctx, netns: stale.netns })
    }

    const now = new Date().toISOString()
    const owner = selfOwner()
    const record: AttachmentRecord = {
      format: RECORD_FORMAT,
      containerId: env.containerId,
      ifname: env.ifname,
      netns: env.netns,
      cniVersion: conf.cniVersion,
      pod,
      reason: plan.reason,
      decisionId: plan.decisionId,
      plugins: plan.attachments.map((a) => a.network.name),
      state: 'planned',
      // GC leaves a planned record alone while this process lives: the runtime's valid list does not know an ADD in flight
      ...(owner !== undefined ? { owner } : {}),
      createdAt: now,
      updatedAt: now,
      // runtimeConfig (port mappings, bandwidth…) is the pod's primary network's; in the plan on
      // disk, so DEL, CHECK, a rollback and GC give every plugin the one its ADD got
      attachments: plan.attachments.map((a, i) => ({
        network: a.network.name, ifname: a.ifname, conf: a.network, ...(a.nad !== undefined ? { nad: a.nad } : {}),
        ...(i === 0 && Object.keys(conf.runtimeConfig).length > 0 ? { runtimeConfig: conf.runtimeConfig } : {}),
      })),
    }
    // The plan is on disk before the first delegate runs: a shim killed mid-ADD leaves enough for DEL.
    saveRecord(conf.stateDir, record)

    const normalized: CniResult[] = []
    for (const [i, att] of record.attachments.entries()) {
      try {
        const raw = await addNetwork(att.conf, att.ifname, ctx, att.runtimeConfig)
        att.result = raw
        normalized.push(normalizeResult(raw, att.conf.cniVersion))
      } catch (err) {
        await rollBack(conf, record, i, ctx, err)
        throw err instanceof Error && !(err instanceof CniError) ? fail('NR_CNI_BAD_DELEGATE_RESULT', err.message, err) : err
      }
    }

    mark('delegatesAdded')
    const prev = conf.prevResult === undefined ? [] : [normalizeResult(conf.prevResult, conf.cniVersion)]
    const merged = mergeResults([...prev, ...normalized], conf.cniVersion)
    record.state = 'added'
    record.addDurationMs = Date.now() - started
    record.updatedAt = new Date().toISOString()

    // The status goes out first (to the agent, else as a PATCH), so the record's fsyncs overlap it.
    let patching: Promise<void> | undefined
    if (pod !== null && podExists) {
      const added: AddedAttachment[] = record.attachments.map((a, i) => ({
        name: a.nad ?? a.network,
        ifname: a.ifname,
        result: normalized[i] ?? { cniVersion: conf.cniVersion },
      }))
      const patch = statusAnnotations(added, env.ifname, { plugins: record.plugins, reason: record.reason, decisionId: record.decisionId })
      patching = writeStatus(conf, inputs.path, pod, patch, apiClient)
      // on the agent path the record keeps them: a restarted agent patches what it lost
      if (inputs.path === 'agent') record.status = patch
      // node:http writes a request on the next tick: let it reach the socket before the synchronous fsyncs
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    saveRecord(conf.stateDir, record)
    await patching
    mark('patched')
    log.info({ plugins: record.plugins, reason: record.reason, path: inputs.path, ...(inputs.fallbackWhy !== undefined ? { fallbackWhy: inputs.fallbackWhy } : {}), ms: Date.now() - started, phases }, 'ADD done')
    return convertResult(merged, conf.cniVersion)
  } finally {
    client?.close()
  }
}

// Undo attachments 0..failed. The failed one gets a DEL too (a plugin may have half-built
// it), but its DEL errors are only logged: a network that cannot ADD often cannot DEL either
// (e.g. a missing IPAM binary), and keeping the record for it would make every later DEL fail.
async function rollBack (conf: ShimConf, record: AttachmentRecord, failed: number, ctx: DelegateContext, cause: unknown): Promise<void> {
  log.warn({ failedAttachment: failed, err: cause }, 'ADD failed; rolling back')
  const failedAtt = record.attachments[failed]
  if (failedAtt !== undefined) {
    const errs = await deleteAttachments({ attachments: [failedAtt] }, ctx)
    if (errs.length > 0) log.warn({ errors: errs }, 'DEL of the failed attachment failed too (ignored)')
  }
  const done = record.attachments.slice(0, failed)
  const errors = await deleteAttachments({ attachments: done }, ctx)
  if (errors.length === 0) {
    removeRecord(conf.stateDir, record.containerId, record.ifname)
  } else {
    log.error({ errors }, 'rollback incomplete; record kept for DEL')
    saveRecord(conf.stateDir, { ...record, attachments: done, state: 'del-failed', updatedAt: new Date().toISOString() })
  }
}
