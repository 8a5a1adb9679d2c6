#!/bin/sh
# Installs the netrank CNI shim on the node, the way Multus installs itself (POSIX sh; runs
# in the agent image as the DaemonSet's init container, and with --watch as a sidecar):
#   - the self-contained shim executable        → $CNI_BIN_DIR/netrank-cni
#   - the shim conf from the ConfigMap           → $CNI_CONF_DIR/00-netrank.conflist
#   - a kubeconfig for the shim (JSON, relative paths: valid wherever the dir is mounted)
#     plus the service account's CA and token    → $CNI_CONF_DIR/netrank.d/
#     (with NETRANK_SHIM_TOKEN_FILE: the kubeconfig names that file, where the agent mints
#     the shim's own token; the agent's token is not copied)
#   - extra network confs from $NETRANK_NETWORKS_DIR (optional ConfigMap) → $CNI_CONF_DIR
# Every file is written to a temp name in its target dir and renamed, so the container
# runtime never reads half a file, and a file is only replaced when its content changed
# (runtimes reload on every change in the conf dir).
#
#   install-cni.sh              install once, exit
#   install-cni.sh --watch      install, then every $NETRANK_WATCH_INTERVAL_S seconds copy
#                               a rotated token and repair anything removed (until SIGTERM)
#   install-cni.sh --uninstall  remove everything this script installed
set -eu

CNI_BIN_DIR=${CNI_BIN_DIR:-/host/opt/cni/bin}
CNI_CONF_DIR=${CNI_CONF_DIR:-/host/etc/cni/net.d}
NETRANK_SHIM=${NETRANK_SHIM:-/usr/local/lib/netrank/netrank-cni}
NETRANK_CONFLIST=${NETRANK_CONFLIST:-/etc/netrank/00-netrank.conflist}
NETRANK_NETWORKS_DIR=${NETRANK_NETWORKS_DIR:-/etc/netrank-networks}
SA_DIR=${SA_DIR:-/var/run/secrets/kubernetes.io/serviceaccount}
NETRANK_WATCH_INTERVAL_S=${NETRANK_WATCH_INTERVAL_S:-60} # the token is rotated hourly
# the shim's own token, minted by the agent (shimToken in its config) into this host path:
# when set, the kubeconfig names it and the agent's service-account token is not copied
NETRANK_SHIM_TOKEN_FILE=${NETRANK_SHIM_TOKEN_FILE:-}

CONF_NAME=00-netrank.conflist
KUBE_DIR="$CNI_CONF_DIR/netrank.d"
# records which extra network confs we installed, so --uninstall removes only those
NETWORKS_LIST="$KUBE_DIR/installed-networks"
# a run that dies half-way leaves no temp list behind
trap 'rm -f "$KUBE_DIR/.installed-networks.$$"' EXIT

log () { printf 'install-cni: %s\n' "$*" >&2; }
die () { log "error: $*"; exit 1; }

# put SRC DST MODE: replace DST by SRC atomically, only when the content differs
put () {
  if [ -f "$2" ] && cmp -s "$1" "$2"; then return 0; fi
  tmp="$(dirname "$2")/.$(basename "$2").tmp.$$"
  cp "$1" "$tmp"
  chmod "$3" "$tmp"
  mv -f "$tmp" "$2"
  log "wrote $2"
}

# put_text DST MODE: like put, with the content on stdin
put_text () {
  new="$(dirname "$1")/.$(basename "$1").new.$$"
  cat > "$new"
  put "$new" "$1" "$2"
  rm -f "$new"
}

# the API server as seen from the host network namespace (the shim runs there)
api_server () {
  if [ -n "${NETRANK_KUBE_SERVER:-}" ]; then
    printf '%s' "$NETRANK_KUBE_SERVER"
    return 0
  fi
  [ -n "${KUBERNETES_SERVICE_HOST:-}" ] || die 'KUBERNETES_SERVICE_HOST is not set (not in a pod?); set NETRANK_KUBE_SERVER=https://HOST:PORT'
  host=$KUBERNETES_SERVICE_HOST
  case "$host" in *:*) host="[$host]" ;; esac # IPv6 literal
  printf 'https://%s:%s' "$host" "${KUBERNETES_SERVICE_PORT:-443}"
}

# check_json FILE [INSTALLED]: a broken conf must not reach the runtime. Uses node (the agent
# image has it); skipped when FILE equals the copy already installed, so the watch loop does
# not start node every minute.
check_json () {
  if [ -n "${2:-}" ] && [ -f "$2" ] && cmp -s "$1" "$2"; then return 0; fi
  if command -v node > /dev/null 2>&1; then
    node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$1" 2> /dev/null \
      || die "$1 is not valid JSON"
  fi
}

install_token () {
  [ -r "$SA_DIR/ca.crt" ] || die "no service-account CA at $SA_DIR/ca.crt"
  put "$SA_DIR/ca.crt" "$KUBE_DIR/ca.crt" 644
  if [ -n "$NETRANK_SHIM_TOKEN_FILE" ]; then
    case "$NETRANK_SHIM_TOKEN_FILE" in /*) ;; *) die "NETRANK_SHIM_TOKEN_FILE must be an absolute host path, got $NETRANK_SHIM_TOKEN_FILE" ;; esac
    # a token copied by an earlier install: the shim no longer carries the agent's identity
    rm -f "$KUBE_DIR/token"
    return 0
  fi
  [ -r "$SA_DIR/token" ] || die "no service-account token at $SA_DIR/token (automountServiceAccountToken off?)"
  put "$SA_DIR/token" "$KUBE_DIR/token" 600
}

install_networks () {
  list="$KUBE_DIR/.installed-networks.$$"
  : > "$list"
  if [ -d "$NETRANK_NETWORKS_DIR" ]; then
    for f in "$NETRANK_NETWORKS_DIR"/*.conf "$NETRANK_NETWORKS_DIR"/*.conflist "$NETRANK_NETWORKS_DIR"/*.json; do
      [ -f "$f" ] || continue # an unmatched glob stays literal
      name=$(basename "$f")
      case "$name" in
        "$CONF_NAME" | 00-netrank.*) die "$f: the name $name is netrank's own; rename the network conf" ;;
      esac
      check_json "$f" "$CNI_CONF_DIR/$name"
      put "$f" "$CNI_CONF_DIR/$name" 644
      printf '%s\n' "$name" >> "$list"
    done
  fi
  # confs installed before that the ConfigMap no longer holds
  if [ -f "$NETWORKS_LIST" ]; then
    while IFS= read -r name; do
      [ -n "$name" ] || continue
      if ! grep -qxF "$name" "$list"; then
        rm -f "$CNI_CONF_DIR/$name"
        log "removed $CNI_CONF_DIR/$name (no longer in $NETRANK_NETWORKS_DIR)"
      fi
    done < "$NETWORKS_LIST"
  fi
  mv -f "$list" "$NETWORKS_LIST"
}

install () {
  [ -x "$NETRANK_SHIM" ] || die "shim executable $NETRANK_SHIM is missing or not executable"
  [ -r "$NETRANK_CONFLIST" ] || die "shim conf $NETRANK_CONFLIST is missing (ConfigMap netrank-config, key $CONF_NAME)"
  check_json "$NETRANK_CONFLIST" "$CNI_CONF_DIR/$CONF_NAME"
  mkdir -p "$CNI_BIN_DIR" "$KUBE_DIR"
  chmod 700 "$KUBE_DIR"
  server=$(api_server)
  case "$server" in *'"'* | *'\'*) die "API server address $server contains a quote or backslash" ;; esac

  put "$NETRANK_SHIM" "$CNI_BIN_DIR/netrank-cni" 755
  install_token
  token_file=token
  if [ -n "$NETRANK_SHIM_TOKEN_FILE" ]; then token_file=$NETRANK_SHIM_TOKEN_FILE; fi
  case "$token_file" in *'"'* | *'\'*) die "token file $token_file contains a quote or backslash" ;; esac
  # relative paths resolve against the kubeconfig's own directory
  put_text "$KUBE_DIR/netrank.kubeconfig" 600 <<KUBECONFIG
{
  "apiVersion": "v1",
  "kind": "Config",
  "clusters": [{ "name": "in-cluster", "cluster": { "server": "$server", "certificate-authority": "ca.crt" } }],
  "users": [{ "name": "netrank", "user": { "tokenFile": "$token_file" } }],
  "contexts": [{ "name": "netrank", "context": { "cluster": "in-cluster", "user": "netrank" } }],
  "current-context": "netrank"
}
KUBECONFIG
  install_networks
  # last: once this file is first in the conf dir, every new pod goes through netrank
  put "$NETRANK_CONFLIST" "$CNI_CONF_DIR/$CONF_NAME" 644
  warn_if_not_first
}

# The runtime uses the first conf by name (C collation); another one sorting before ours
# (CNI-Genie's 00-genie.conf, a Multus 00-multus.conf) means netrank is never called.
warn_if_not_first () {
  first=$(cd "$CNI_CONF_DIR" && for f in *.conf *.conflist *.json; do [ -f "$f" ] && printf '%s\n' "$f"; done | LC_ALL=C sort | head -n 1)
  if [ -n "$first" ] && [ "$first" != "$CONF_NAME" ]; then
    log "warning: $CNI_CONF_DIR/$first sorts before $CONF_NAME, so the container runtime uses it and never calls netrank; remove it (see docs/install.md)"
  fi
}

uninstall () {
  # conf first, so the runtime stops calling a shim that is about to disappear
  rm -f "$CNI_CONF_DIR/$CONF_NAME"
  if [ -f "$NETWORKS_LIST" ]; then
    while IFS= read -r name; do
      [ -n "$name" ] && rm -f "$CNI_CONF_DIR/$name"
    done < "$NETWORKS_LIST"
  fi
  rm -rf "$KUBE_DIR"
  rm -f "$CNI_BIN_DIR/netrank-cni"
  log "removed netrank from $CNI_CONF_DIR and $CNI_BIN_DIR"
}

case "${1:-}" in
  '')
    install
    log "installed (node ${NODE_NAME:-?})"
    ;;
  --watch)
    install
    log "watching every ${NETRANK_WATCH_INTERVAL_S} s"
    trap 'exit 0' TERM INT
    while :; do
      sleep "$NETRANK_WATCH_INTERVAL_S" &
      wait $! || true
      install
    done
    ;;
  --uninstall)
    uninstall
    ;;
  *)
    die "unknown argument $1 (use no argument, --watch or --uninstall)"
    ;;
esac
