#!/bin/sh
# The agent container's entrypoint (POSIX sh): renders the ConfigMap's agent config with
# this node's name, then runs the agent. The ConfigMap is the same on every node; the
# node name comes from NODE_NAME (downward API, spec.nodeName), which the kubelet may have
# overridden, so the pod's hostname is not a substitute.
#
#   agent-entrypoint.sh [AGENT ARGS...]   render, then exec `netrank agent --config …`
#   agent-entrypoint.sh --render-only     render and print the rendered file's path
set -eu

NETRANK_CONFIG=${NETRANK_CONFIG:-/etc/netrank/agent.yaml}
NETRANK_RUN_DIR=${NETRANK_RUN_DIR:-/run/netrank}
NETRANK_APP_DIR=${NETRANK_APP_DIR:-/app}

die () { printf 'agent-entrypoint: error: %s\n' "$*" >&2; exit 1; }

[ -n "${NODE_NAME:-}" ] || die 'NODE_NAME is not set; give the container env NODE_NAME from fieldRef spec.nodeName'
case "$NODE_NAME" in
  *[!a-z0-9.-]*) die "NODE_NAME '$NODE_NAME' is not a Kubernetes node name (lower-case DNS subdomain)" ;;
esac
[ -r "$NETRANK_CONFIG" ] || die "agent config $NETRANK_CONFIG is missing (ConfigMap netrank-config, key agent.yaml)"
if grep -q '^node:' "$NETRANK_CONFIG"; then
  die "$NETRANK_CONFIG sets node:, which is filled in per node from NODE_NAME; remove it"
fi
if grep -q '^---' "$NETRANK_CONFIG"; then
  die "$NETRANK_CONFIG must hold one YAML document without '---' markers"
fi

mkdir -p "$NETRANK_RUN_DIR"
out="$NETRANK_RUN_DIR/agent.yaml"
# quoted: a node named e.g. 1234 must stay a string
{ printf 'node: "%s"\n' "$NODE_NAME"; cat "$NETRANK_CONFIG"; } > "$out.tmp"
mv -f "$out.tmp" "$out"

if [ "${1:-}" = --render-only ]; then
  printf '%s\n' "$out"
  exit 0
fi
exec node "$NETRANK_APP_DIR/dist/bin/netrank.js" agent --config "$out" "$@"
