# syntax=docker/dockerfile:1
# netrank agent image: the agent (node dist/bin/netrank.js agent), the self-contained CNI
# shim executable the init container installs on the node, and the tools the probes use.
#   docker build -t ghcr.io/netrank/netrank:0.1.0 .
# test/system/dockerfile.test.ts checks that every path copied here exists after `npm run build`.
# Without a Docker engine, `npm run build:images` (scripts/build-images.mjs) makes the same
# image as an OCI archive (dist/images/agent.tar) from the build and Debian packages.

# --- build: the product only (no lab, no benchmarks, no test support) ----------------
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.product.json ./
COPY scripts/build.mjs scripts/build-shim.mjs scripts/
COPY bin/ bin/
COPY contract/ contract/
COPY selector/ selector/
COPY store/ store/
COPY collectors/ collectors/
COPY agent/ agent/
COPY cli/ cli/
COPY cni/ cni/
RUN npm run build:product

# --- runtime -------------------------------------------------------------------------
FROM node:20-bookworm-slim
# iperf3: throughput probes; iputils-ping: the idle RTT (kernel ICMP); sockperf: TCP_RR;
# iproute2: `ip` inside probe netns; util-linux: nsenter
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iperf3 iputils-ping sockperf iproute2 util-linux ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist/ dist/
COPY examples/ examples/
# The shim: a Node single executable built from the build stage's node binary (glibc,
# dynamically linked), so a node needs no Node.js, only glibc ≥ 2.28 (Node 20's floor).
COPY --from=build /src/dist/bin/netrank-cni /usr/local/lib/netrank/netrank-cni
COPY manifests/install/install-cni.sh manifests/install/agent-entrypoint.sh /usr/local/lib/netrank/
# runs as root: entering probe pods' network namespaces needs CAP_SYS_ADMIN as uid 0
ENTRYPOINT ["/usr/local/lib/netrank/agent-entrypoint.sh"]
