/**
 * Renders a kustomization with `kubectl kustomize` (offline) and validates each object
 * against its Kubernetes OpenAPI schema from kubernetes-models. Shared by the manifests
 * tests.
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseAllDocuments } from 'yaml'
import { DaemonSet } from 'kubernetes-models/apps/v1/DaemonSet'
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap'
import { Namespace } from 'kubernetes-models/v1/Namespace'
import { Service } from 'kubernetes-models/v1/Service'
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import { ClusterRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole'
import { ClusterRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding'
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role'
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding'
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule'
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1/CustomResourceDefinition'

export const REPO_ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..')
export const MANIFESTS = join(REPO_ROOT, 'manifests')

/** The kustomizations that must render: the base and every overlay. */
export const KUSTOMIZATIONS = ['base', 'overlays/flannel-calico', 'overlays/whereabouts'] as const

/** A rendered Kubernetes object (loosely typed: tests look into it). */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string, namespace?: string, labels?: Record<string, string>, annotations?: Record<string, string> }
  [key: string]: unknown
}

/** Why kubectl cannot be used here, or undefined when it can. */
export function kubectlMissing (): string | undefined {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' })
  if (r.error !== undefined || r.status !== 0) return 'kubectl is not installed (it renders the kustomizations offline: `kubectl kustomize`)'
  return undefined
}

/** `kubectl kustomize manifests/<dir>` parsed into objects; throws with kubectl's stderr when it fails. */
export function render (dir: string): KubeObject[] {
  const r = spawnSync('kubectl', ['kustomize', join(MANIFESTS, dir)], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`kubectl kustomize manifests/${dir} failed: ${r.stderr}`)
  return parseAllDocuments(r.stdout).map((d) => d.toJSON() as KubeObject).filter((o) => o !== null)
}

type Validator = (obj: KubeObject) => void

// kind → the kubernetes-models class that validates it (apiVersion checked too)
const MODELS: Record<string, { apiVersion: string, validate: Validator }> = {
  Namespace: { apiVersion: 'v1', validate: (o) => new Namespace(o as never).validate() },
  ServiceAccount: { apiVersion: 'v1', validate: (o) => new ServiceAccount(o as never).validate() },
  ConfigMap: { apiVersion: 'v1', validate: (o) => new ConfigMap(o as never).validate() },
  Service: { apiVersion: 'v1', validate: (o) => new Service(o as never).validate() },
  DaemonSet: { apiVersion: 'apps/v1', validate: (o) => new DaemonSet(o as never).validate() },
  ClusterRole: { apiVersion: 'rbac.authorization.k8s.io/v1', validate: (o) => new ClusterRole(o as never).validate() },
  ClusterRoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', validate: (o) => new ClusterRoleBinding(o as never).validate() },
  Role: { apiVersion: 'rbac.authorization.k8s.io/v1', validate: (o) => new Role(o as never).validate() },
  RoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', validate: (o) => new RoleBinding(o as never).validate() },
  ServiceMonitor: { apiVersion: 'monitoring.coreos.com/v1', validate: (o) => new ServiceMonitor(o as never).validate() },
  PrometheusRule: { apiVersion: 'monitoring.coreos.com/v1', validate: (o) => new PrometheusRule(o as never).validate() },
  CustomResourceDefinition: { apiVersion: 'apiextensions.k8s.io/v1', validate: (o) => new CustomResourceDefinition(o as never).validate() },
}

/** The kinds this project ships and can validate. */
export const VALIDATED_KINDS = Object.keys(MODELS)

/** Validates one object against its schema; throws naming the object and the schema errors. */
export function validateObject (obj: KubeObject): void {
  const model = MODELS[obj.kind]
  const id = `${obj.kind}/${obj.metadata?.name ?? '?'}`
  if (model === undefined) throw new Error(`${id}: no schema for kind ${obj.kind} (known: ${VALIDATED_KINDS.join(', ')})`)
  if (obj.apiVersion !== model.apiVersion) throw new Error(`${id}: apiVersion ${obj.apiVersion}, expected ${model.apiVersion}`)
  try {
    model.validate(obj)
  } catch (err) {
    throw new Error(`${id}: ${(err as Error).message}`)
  }
}

/** The one object of a kind whose name starts with `name` (generated ConfigMaps carry a hash suffix). */
export function findObject (objects: KubeObject[], kind: string, name: string): KubeObject {
  const hits = objects.filter((o) => o.kind === kind && (o.metadata.name === name || o.metadata.name.startsWith(`${name}-`)))
  if (hits.length !== 1) throw new Error(`expected one ${kind} ${name}, found ${hits.length}: ${hits.map((o) => o.metadata.name).join(', ')}`)
  return hits[0] as KubeObject
}
