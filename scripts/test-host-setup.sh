#!/usr/bin/env bash
# Installs the Debian packages the test suite starts for real (root required):
# network namespaces and shaping, fping/iperf3/traceroute references, tshark (Wireshark dissectors),
# snmpd, Prometheus and Alertmanager, VictoriaMetrics (the report against a long-term store),
# Chromium (the HTML report, headless) and dnsmasq (the DNS server of the fault matrix, the resolver
# tests and the DNS probe's tests); and what building and checking the Debian package needs (npm run
# package:deb, test:package).
set -euo pipefail
PACKAGES=(
  iproute2 nftables iputils-ping fping iperf3 libcap2-bin openssl python3
  snmpd snmp prometheus prometheus-alertmanager prometheus-snmp-exporter
  victoria-metrics chromium
  dnsmasq-base
  systemd util-linux curl
  make g++ tshark traceroute
  dpkg-dev binutils lintian adduser init-system-helpers
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # policy-rc.d keeps the packaged daemons from starting; tests start their own instances.
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
