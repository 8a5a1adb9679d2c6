// Bounds of the agent's HTTP API: not configuration, the API's own limits.
export const HTTP_LIMITS = Object.freeze({
  bodyLimitBytes: 16 * 1024, // 16 KiB: a select request is ~200 bytes
  decisionsPageLimit: 100, // decisions per page by default
  decisionsPageMax: 1000, // and at most
})
