/**
 * `startAgent`: the agent with its HTTP server, collectors started, listening; shuts down
 * gracefully on SIGTERM/SIGINT (collectors, then in-flight requests, then the audit).
 */
import type { FastifyInstance } from 'fastify'
import { createAgent } from './agent.js'
import type { Agent, AgentOptions } from './agent.js'
import type { AgentConfig } from './config/load-config.js'
import { buildServer } from './http/server.js'
import { buildSocketServer, listenOnSocket } from './http/socket-server.js'

export interface RunningAgent {
  app: FastifyInstance
  agent: Agent
  /** e.g. http://127.0.0.1:9797 */
  url: string
  /** the shim's fast path (config.listen.socket); undefined when turned off */
  socketPath: string | undefined
  /** graceful shutdown: stop collectors, close fastify (in-flight requests finish), close the audit */
  close: () => Promise<void>
  /** resolves once the agent has shut down (after close() or a signal) */
  closed: Promise<void>
}

export interface StartOptions extends AgentOptions {
  /** pino options or false; default info-level JSON logs */
  logger?: boolean | object
  /** install SIGTERM/SIGINT handlers that close the agent (default true) */
  handleSignals?: boolean
}

/** Builds the agent and its HTTP server, starts the collectors and listens on config.listen. */
export async function startAgent (config: AgentConfig, opts: StartOptions = {}): Promise<RunningAgent> {
  const agent = await createAgent(config, opts)
  const app = await buildServer({ agent, logger: opts.logger ?? { level: 'info' } })
  // the plan service reads pods through the API: without `kubernetes` there is nothing to serve
  const socketPath = config.listen.socket === '' || agent.planKube === undefined ? undefined : config.listen.socket
  // the socket's requests log through the same logger
  const socketApp = socketPath === undefined ? undefined : await buildSocketServer(agent, false)
  let closing: Promise<void> | undefined
  let markClosed: () => void = () => undefined
  const closed = new Promise<void>((resolve) => { markClosed = resolve })
  const onSignal = (signal: NodeJS.Signals): void => {
    app.log.info({ signal }, 'shutting down')
    void close()
  }
  const close = (): Promise<void> => {
    closing ??= (async () => {
      process.off('SIGTERM', onSignal)
      process.off('SIGINT', onSignal)
      await Promise.allSettled(agent.collectors.map((c) => c.stop()))
      await socketApp?.close()
      await app.close()
      await agent.close()
      markClosed()
    })()
    return closing
  }
  try {
    agent.startCollectors()
    agent.startShimToken()
    agent.policy?.start()
    await app.listen({ host: config.listen.host, port: config.listen.port })
    if (socketApp !== undefined && socketPath !== undefined) {
      await listenOnSocket(socketApp, socketPath)
      agent.warmPlanCache()
    }
  } catch (err) {
    await close()
    throw err
  }
  if (opts.handleSignals ?? true) {
    process.on('SIGTERM', onSignal)
    process.on('SIGINT', onSignal)
  }
  const addr = app.server.address()
  const port = addr !== null && typeof addr === 'object' ? addr.port : config.listen.port
  const host = config.listen.host.includes(':') ? `[${config.listen.host}]` : config.listen.host
  if (!isLoopbackHost(config.listen.host) && config.auth.selectToken === undefined) {
    app.log.warn({ host: config.listen.host }, 'listening beyond loopback without auth.selectToken: /v1/select still answers loopback callers only')
  }
  return { app, agent, url: `http://${host}:${port}`, socketPath, close, closed }
}

function isLoopbackHost (host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.')
}
