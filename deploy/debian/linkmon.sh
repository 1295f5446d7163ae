#!/bin/sh
# /usr/bin/linkmon: linkmon on the Node.js runtime the package bundles.
exec /usr/lib/linkmon/bin/node /usr/lib/linkmon/dist/cli/linkmon.js "$@"
