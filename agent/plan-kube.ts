// What the plan service (plan.ts) needs of Kubernetes: the agent builds it over its informer
// and API client (agent.ts), tests pass a fake.

/** A pod object as the plan reads it. */
export interface PlanPodObject { metadata?: { uid?: string, annotations?: Record<string, string> } }

/** What planning needs of Kubernetes (the agent's informer and API client; a fake in tests). */
export interface PlanKube {
  /** the informer's copy of a pod of this node, if it has one */
  cachedPod: (namespace: string, name: string) => Promise<PlanPodObject | undefined>
  getPod: (namespace: string, name: string) => Promise<PlanPodObject | undefined>
  getNad: (namespace: string, name: string) => Promise<Record<string, unknown> | undefined>
}
