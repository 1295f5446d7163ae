#!/bin/sh
# Container entrypoint: `linkmon <command> [options]` (see docs/deploy.md).
#
# The container runs as a non-root user, so Docker's capabilities never become effective by
# themselves. ICMP needs CAP_NET_RAW; it comes from a copy of node that carries it as a file
# capability (setcap cap_net_raw+ep). That copy is used only for the agent, and only when the
# container was started with NET_RAW (e.g. --cap-drop ALL --cap-add NET_RAW): exec'ing a
# file-capability binary without the capability in the bounding set fails outright, and the agent
# must still start then, with ICMP reported unavailable (linkmon_prober_available{kind="icmp"} 0).
set -eu

home="${LINKMON_HOME:-/app}"
node="$(command -v node)"
node_net_raw="${LINKMON_NODE_NET_RAW:-$home/bin/node-net-raw}"

CAP_NET_RAW=13
bounding=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
case "${1:-}" in
  agent | "")
    # The agent's memory settings, as in deploy/systemd/linkmon-agent.service (the measurements are
    # there); NODE_OPTIONS or MALLOC_ARENA_MAX given to the container take precedence.
    export NODE_OPTIONS="--max-semi-space-size=2${NODE_OPTIONS:+ $NODE_OPTIONS}"
    export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}"
    if [ -n "$bounding" ] && [ $(( (0x$bounding >> CAP_NET_RAW) & 1 )) -eq 1 ] && [ -x "$node_net_raw" ]; then
      node="$node_net_raw"
    fi
    ;;
esac
exec "$node" "$home/dist/cli/linkmon.js" "$@"
