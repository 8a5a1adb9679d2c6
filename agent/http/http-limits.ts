// Bounds of the agent's HTTP API: not configuration, the API's own limits.
export const HTTP_LIMITS = Object.freeze({
  bodyLimitBytes: 16 * 1024, // 16 KiB: a select request is ~200 bytes
  socketBodyLimitBytes: 1024 * 1024, // 1 MiB on the agent socket: a pod-status carries every attachment's result
  decisionsPageLimit: 100, // decisions per page by default
  decisionsPageMax: 1000, // and at most
})
