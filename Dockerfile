# syntax=docker/dockerfile:1
# linkmon: one image for both roles, chosen by command.
#   docker build -t linkmon:0.1.0 .
#   site agent (default command):
#     docker run -d --name linkmon-agent --read-only --cap-drop ALL --cap-add NET_RAW \
#       -v /etc/linkmon:/etc/linkmon:ro -p 9470:9470 linkmon:0.1.0
#   responder:
#     docker run -d --name linkmon-responder --read-only --cap-drop ALL \
#       -v /etc/linkmon:/etc/linkmon:ro -e LINKMON_HEALTHCHECK_URL=http://127.0.0.1:9480/healthz \
#       -p 9480-9482:9480-9482 -p 9483:9483/udp linkmon:0.1.0 responder --config /etc/linkmon/responder.yaml
# Config under /etc/linkmon and secrets under /run/secrets are mounted read-only; nothing secret is
# copied into the image. ICMP and CAP_NET_RAW: see deploy/docker/entrypoint.sh and docs/deploy.md.

# Every stage uses the same Node (24 LTS) and libc (Debian bookworm, glibc): two native addons are
# compiled in the build stages and loaded in `runtime`: raw-socket (in `deps`, from the lockfile) and
# linkmon's own ICMP socket with kernel receive timestamps (agent/probes/native, in `build`).
FROM node:24.22.3-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /build
# node-gyp compiles against the image's own Node headers (/usr/local/include/node) instead of
# downloading them: raw-socket here, native in `build`.
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json ./
# The production install: exactly what runs, from the lockfile.
RUN npm ci --omit=dev --no-audit --no-fund

FROM deps AS build
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build-native.mjs scripts/bundle.mjs ./scripts/
# agent/ includes the addon's sources (agent/probes/native: binding.gyp and C sources);
# `npm run build` compiles it (build:native, node-gyp rebuild), then bundles the JavaScript with
# esbuild into dist/ (scripts/bundle.mjs), and the require() below proves the addon loads in this
# Node before the runtime copies it.
COPY lib ./lib
COPY web ./web
COPY agent ./agent
COPY responder ./responder
COPY report ./report
COPY alerts/src ./alerts/src
COPY cli ./cli
RUN npm run build \
 && node -e 'require("./agent/probes/native/build/Release/linkmon_native.node")'

FROM node:24.22.3-bookworm-slim AS runtime
# OCI annotations: where the source is, which version, under which licence (package.json has the same).
LABEL org.opencontainers.image.title="linkmon" \
      org.opencontainers.image.description="Link-health monitoring agent and Prometheus exporter (site agent and data-centre responder)" \
      org.opencontainers.image.source="https://git.linkmon.invalid/linkmon" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production
WORKDIR /app
# package.json for the version; dist/ is the bundle, every npm package in it but raw-socket, the
# optional native ICMP fallback, which is loaded from node_modules (it needs nothing else at run time).
COPY package.json ./
COPY --from=deps /build/node_modules/raw-socket ./node_modules/raw-socket
COPY --from=build /build/dist ./dist
# Where agent/probes/native/addon.ts looks for the addon from the bundle's files in dist/*/
# (../../agent/probes/native/build/Release/). Without it ICMP falls back to raw-socket,
# whose receive times come from the event loop (~0.1-0.2 ms worse).
COPY --from=build /build/agent/probes/native/build/Release/linkmon_native.node /app/agent/probes/native/build/Release/linkmon_native.node
COPY deploy/docker/entrypoint.sh /usr/local/bin/linkmon
# bin/node-net-raw: a copy of node with CAP_NET_RAW as a file capability, used by the entrypoint
# for the agent when the container has NET_RAW. Plain node stays capability-free.
# Code and node_modules stay owned by root: the service user can read them, not change them.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libcap2-bin \
 && mkdir -p /app/bin /etc/linkmon \
 && cp /usr/local/bin/node /app/bin/node-net-raw \
 && setcap cap_net_raw+ep /app/bin/node-net-raw \
 && apt-get purge -y --auto-remove libcap2-bin \
 && rm -rf /var/lib/apt/lists/* \
 && chmod 0755 /usr/local/bin/linkmon \
 && groupadd --system --gid 10001 linkmon \
 && useradd --system --uid 10001 --gid linkmon --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin linkmon
USER 10001:10001
# agent metrics; responder HTTP, HTTPS, TCP connect and UDP reflector.
EXPOSE 9470/tcp 9480/tcp 9481/tcp 9482/tcp 9483/udp
# Finds out by itself whether the web config turned on TLS; see web/healthcheck.ts.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["node", "/app/dist/web/healthcheck.js"]
ENTRYPOINT ["linkmon"]
CMD ["agent", "--config", "/etc/linkmon/agent.yaml"]
