// DEL: every delegate in reverse order from the attachment record; never needs the
// agent, and needs the API server only when there is no record. Goes on past errors;
// keeps the record (state del-failed) when any delegate DEL failed so a retry can finish.
import { readPodRequest } from './annotations.js'
import { readRecord, removeRecord, writeRecord, type AttachmentRecord } from '../contract/attachment-record.js'
import { chooseNetworks } from './choose-networks.js'
import { loadNetworks } from './delegate-conf.js'
import { delNetwork, type DelegateContext } from './delegate-network.js'
import type { CniEnv } from './env.js'
import { fail } from './errors.js'
import { podAnnotations, type KubeClient } from './kube-client.js'
import { log } from './log.js'
import { assertNadAllowed, nadToNetwork } from './nad-resolve.js'
import { kubeClientFor, podFromArgs } from './pod-identity.js'
import type { ShimConf } from './shim-conf.js'

/** Runs DEL of every attachment of `record` in reverse. Returns the failures (empty = all clean). */
export async function deleteAttachments (record: Pick<AttachmentRecord, 'attachments'>, ctx: DelegateContext): Promise<Error[]> {
  const errors: Error[] = []
  for (const att of [...record.attachments].reverse()) {
    const errs = await delNetwork(att.conf, att.ifname, ctx, att.result, att.runtimeConfig)
    errors.push(...errs)
  }
  return errors
}

/** Deletes from a record and removes it, or marks it del-failed and throws code 110. */
export async function deleteFromRecord (stateDir: string, record: AttachmentRecord, ctx: DelegateContext): Promise<void> {
  const errors = await deleteAttachments(record, ctx)
  if (errors.length === 0) {
    removeRecord(stateDir, record.containerId, record.ifname)
    return
  }
  writeRecord(stateDir, { ...record, state: 'del-failed', updatedAt: new Date().toISOString() })
  throw fail('NR_CNI_DELEGATE_DEL_FAILED', errors.map((e) => e.message).join('; '))
}

// No record: the ADD never got as far as the plan, or a DEL already finished. Rebuild
// the plan from the annotations when the pod is readable (never asking the agent),
// DEL best effort, and succeed either way: DEL must not block pod removal.
async function deleteWithoutRecord (conf: ShimConf, env: CniEnv, ctx: DelegateContext): Promise<void> {
  const pod = podFromArgs(env)
  let annotations: Record<string, string> = {}
  let client: KubeClient | undefined
  try {
    client = pod === null ? undefined : await kubeClientFor(conf)
    if (client !== undefined && pod !== null) {
      const obj = await client.getPod(pod.namespace, pod.name)
      if (obj === undefined) {
        log.info({}, 'DEL without record: pod is gone; nothing to rebuild')
        return
      }
      annotations = podAnnotations(obj)
    }
    const catalog = loadNetworks(conf.confDir, { name: conf.name, type: conf.type })
    const plan = await chooseNetworks(readPodRequest(annotations, pod?.namespace ?? 'default'), {
      catalog,
      confDir: conf.confDir,
      defaultPlugins: conf.defaultPlugins,
      primaryIfname: env.ifname,
      resolveNad: async (req) => {
        assertNadAllowed(req, pod?.namespace ?? 'default', conf.nadIsolation)
        return nadToNetwork(req, await client?.getNad(req.namespace, req.name), catalog, conf.confDir)
      },
      resolveLogical: async (req) => {
        const { logicalResolver } = await import('./logical-resolve.js')
        return await logicalResolver({ namespace: pod?.namespace ?? 'default', catalog, confDir: conf.confDir, get: async (path) => await client?.request('GET', path) })(req)
      },
      // DEL never asks the agent: a smart pod without record is cleaned on the fallback network
      select: async () => ({ ok: false, why: 'agent-down', detail: 'not asked on DEL' }),
    })
    const errors = await deleteAttachments({ attachments: plan.attachments.map((a) => ({ network: a.network.name, ifname: a.ifname, conf: a.network })) }, ctx)
    if (errors.length > 0) log.warn({ errors }, 'DEL without record: some delegate DELs failed (nothing may have been there)')
  } catch (err) {
    log.warn({ err }, 'DEL without record: could not rebuild the plan; succeeding')
  } finally {
    client?.close()
  }
}

/** The DEL verb. Prints nothing on success. */
export async function cmdDel (conf: ShimConf, env: CniEnv): Promise<void> {
  const ctx: DelegateContext = { containerId: env.containerId, netns: env.netns, argsRaw: env.argsRaw, cniPath: env.path, timeoutMs: conf.delegateTimeoutMs }
  let record: AttachmentRecord | undefined
  try {
    record = readRecord(conf.stateDir, env.containerId, env.ifname)
  } catch (err) {
    throw fail('NR_CNI_IO', `attachment record for ${env.containerId} is unreadable: ${(err as Error).message}`, err)
  }
  if (record === undefined) {
    await deleteWithoutRecord(conf, env, ctx)
    return
  }
  await deleteFromRecord(conf.stateDir, record, ctx)
  log.info({ plugins: record.plugins }, 'DEL done')
}
