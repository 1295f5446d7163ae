#!/usr/bin/env bash
# `npm run package:deb`: builds dist/package/linkmon_<version>-1_amd64.deb with dpkg-deb.
#
#   /usr/lib/linkmon/        the application: dist/ (the esbuild bundle of scripts/bundle.mjs, every
#                            npm package in it), node_modules/raw-socket alone (the optional ICMP
#                            fallback, native, built for the bundled Node), the ICMP addon where
#                            the loader looks for it, and bin/node, the Node.js 24 LTS runtime
#                            (Debian 12's nodejs is 18)
#   /usr/bin/linkmon         runs it on that runtime
#   /lib/systemd/system/     linkmon-agent.service, linkmon-responder.service, and the monthly
#                            capacity report's linkmon-report.service and .timer (none enabled)
#   /usr/lib/sysusers.d/     linkmon.conf (the postinst creates the user)
#   /etc/linkmon/, /etc/default/   default configs (conffiles)
#   /usr/share/doc/linkmon/  deploy docs, runbooks, example configs, copyright, changelog
#
# Needs: node and npm (this repository's npm ci done), python3, make, g++ (the addons), dpkg-deb,
# dpkg-shlibdeps (dpkg-dev), binutils (strip). Prints the .deb's path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

version="$(node -p 'require("./package.json").version')"
revision=1
deb_version="$version-$revision"
node24="$(scripts/node24.sh)"
out="$root/dist/package"
deb="$out/linkmon_${deb_version}_amd64.deb"

work="$(mktemp -d "${TMPDIR:-/tmp}/linkmon-deb.XXXXXX")"
trap 'rm -rf "$work"' EXIT
pkg="$work/linkmon"
app="$pkg/usr/lib/linkmon"
doc="$pkg/usr/share/doc/linkmon"
mkdir -p "$app/bin" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/usr/lib/sysusers.d" "$pkg/etc/linkmon" "$pkg/etc/default" \
  "$doc/examples" "$pkg/usr/share/lintian/overrides" "$pkg/DEBIAN"

# Everything native is built against the bundled Node's own headers (no download).
with_node24=(env "PATH=$node24/bin:$PATH" "npm_config_nodedir=$node24")

# The application: the bundle, raw-socket from a production install of the lockfile (the rest of
# that install is in the bundle; it stays in $work/deps for the copyright file), the addon.
cp package.json "$app/"
mkdir -p "$work/deps" "$app/node_modules"
cp package.json package-lock.json "$work/deps/"
(cd "$work/deps" && "${with_node24[@]}" npm ci --omit=dev --no-audit --no-fund --loglevel=error)
cp -r "$work/deps/node_modules/raw-socket" "$app/node_modules/raw-socket"
"${with_node24[@]}" node scripts/bundle.mjs --outdir "$app/dist"
mkdir -p "$work/addon/agent/probes"
cp -r agent/probes/native "$work/addon/agent/probes/"
rm -rf "$work/addon/agent/probes/native/build"
cp package.json "$work/addon/"
(cd "$work/addon" && "${with_node24[@]}" npm run build:native --silent)
install -D -m 0644 "$work/addon/agent/probes/native/build/Release/linkmon_native.node" "$app/agent/probes/native/build/Release/linkmon_native.node"
"$node24/bin/node" -e 'require(process.argv[1]); require(process.argv[2])' \
  "$app/agent/probes/native/build/Release/linkmon_native.node" "$app/node_modules/raw-socket"
install -m 0755 "$node24/bin/node" "$app/bin/node"
# What nothing reads at run time: node-gyp's build leftovers, and the bundled packages' development
# files and documentation (folders stay: a package may load anything under its own folder).
find "$app/node_modules" \( -name '*.o' -o -name '*.a' -o -name '*.mk' -o -name 'Makefile' -o -name 'config.gypi' -o -name '.deps' -o -name 'obj.target' \
  -o -name '.bin' -o -name '.github' -o -name '.husky' -o -name '.git*' -o -name '.npmignore' -o -name '.eslintrc*' -o -name '.travis.yml' -o -name '.taprc' -o -name '.nycrc' \
  -o -name '*.md' -o -name '*.html' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.ts.map' -o -name 'tsconfig*.json' \) -prune -exec rm -rf {} +
find "$app" -name '*.node' -exec strip --strip-unneeded {} +
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$app/bin/node"
# Plain files, one mode: nothing under node_modules or dist is run as a program (the bundled node runs them).
find "$app" -type f -exec chmod 0644 {} +
chmod 0755 "$app/bin/node"

install -m 0755 deploy/debian/linkmon.sh "$pkg/usr/bin/linkmon"
install -D -m 0644 deploy/debian/linkmon.1 "$pkg/usr/share/man/man1/linkmon.1"
gzip -9n "$pkg/usr/share/man/man1/linkmon.1"
install -m 0644 deploy/systemd/linkmon-agent.service deploy/systemd/linkmon-responder.service \
  deploy/systemd/linkmon-report.service deploy/systemd/linkmon-report.timer "$pkg/lib/systemd/system/"
install -m 0644 deploy/systemd/linkmon.sysusers.conf "$pkg/usr/lib/sysusers.d/linkmon.conf"
install -m 0644 deploy/debian/agent.yaml deploy/debian/responder.yaml "$pkg/etc/linkmon/"
install -m 0644 deploy/debian/linkmon-agent.default "$pkg/etc/default/linkmon-agent"
install -m 0644 deploy/debian/linkmon-responder.default "$pkg/etc/default/linkmon-responder"

# Documentation: deploy and component docs, runbooks, examples, licences.
install -m 0644 docs/*.md "$doc/"
cp -r docs/runbooks "$doc/runbooks"
install -m 0644 config/examples/*.yaml deploy/web-config.example.yml "$doc/examples/"
install -m 0644 "$node24/LICENSE" "$doc/node.LICENSE"
deploy/debian/copyright.sh "$work/deps/node_modules" "$app/node_modules" > "$doc/copyright"
# The licence texts of the packages in the bundle (their folders are not shipped).
(cd "$work/deps/node_modules" && find . -mindepth 2 -maxdepth 4 -type f -iregex '.*/\(licen[cs]e\|copying\|notice\)[^/]*' -not -path './raw-socket/*' -not -path '*/node_modules/*/node_modules/*' -printf '%P\0') |
  while IFS= read -r -d '' file; do install -D -m 0644 "$work/deps/node_modules/$file" "$doc/licenses/$file"; done
printf 'linkmon (%s) unstable; urgency=medium\n\n  * Release %s.\n\n -- linkmon maintainers <linkmon@linkmon.invalid>  %s\n' \
  "$deb_version" "$version" "$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")" | gzip -9n > "$doc/changelog.Debian.gz"
install -m 0644 deploy/debian/lintian-overrides "$pkg/usr/share/lintian/overrides/linkmon"
find "$pkg" -type d -exec chmod 0755 {} +
find "$pkg/usr/share" "$pkg/etc" "$pkg/lib" -type f -exec chmod 0644 {} +

# Control: dependencies of the bundled binaries from dpkg-shlibdeps, conffiles, maintainer scripts.
mkdir -p "$work/shlibs/debian"
printf 'Source: linkmon\n\nPackage: linkmon\nArchitecture: amd64\n' > "$work/shlibs/debian/control"
shlibs="$(cd "$work/shlibs" && dpkg-shlibdeps -O -e"$app/bin/node" $(find "$app" -name '*.node' -printf ' -e%p') 2>/dev/null | sed -n 's/^shlibs:Depends=//p')"
installed_kb="$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)"
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: linkmon
Version: $deb_version
Section: net
Priority: optional
Architecture: amd64
Maintainer: linkmon maintainers <linkmon@linkmon.invalid>
Installed-Size: $installed_kb
Depends: $shlibs, adduser
Recommends: systemd
Homepage: $(node -p 'require("./package.json").repository.url')
Description: link-health monitoring agent and Prometheus exporter
 linkmon watches a business-critical WAN link: a site agent probes the far
 side continuously (ICMP, TCP, HTTP(S), UDP with per-direction loss and
 jitter, scheduled throughput tests), reads router interface counters over
 SNMP and exports everything to Prometheus; a responder serves the data-centre
 end of the tests.
 .
 The package bundles its own Node.js 24 runtime in /usr/lib/linkmon. Neither
 service is started or enabled on installation: edit /etc/linkmon/agent.yaml
 (or responder.yaml), check it with linkmon validate, then enable the unit.
CONTROL
find "$pkg/etc" -type f -printf '/etc/%P\n' | sort > "$pkg/DEBIAN/conffiles"
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$pkg/DEBIAN/"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum > DEBIAN/md5sums)
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/conffiles" "$pkg/DEBIAN/md5sums"

mkdir -p "$out"
rm -f "$out"/linkmon_*.deb
# gzip: xz would be 30% smaller but takes two minutes on two cores for the 109 MB runtime alone.
dpkg-deb --root-owner-group -Zgzip -z6 --build "$pkg" "$deb" >&2
echo "$deb"
