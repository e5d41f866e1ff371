#!/usr/bin/env bash
# Installs what Waygate needs to build, test and run, from Debian bookworm's packages. Idempotent:
# when everything is present it only checks. Run as root (or it uses sudo). With --bench, also the
# peers tests/bench/suite.sh measures Waygate against, and gnuplot for its plot.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config clang libclang-rt-14-dev
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-filesystem1.81-dev
  libboost-program-options1.81-dev
  liburing-dev libsodium-dev libssl-dev libtomlplusplus-dev libhowardhinnant-date-dev tzdata libfmt-dev libspdlog-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev libqrencode-dev libmaxminddb-dev prometheus-cpp-dev
  libnl-route-3-dev libcap-dev libnftables-dev libpcap-dev libsystemd-dev
  dpkg-dev systemd  # the packages (dpkg-shlibdeps) and their test (systemd-analyze, systemd in a container)
  nftables ethtool iproute2 iputils-ping wireguard-go wireguard-tools iperf3 curl python3 bc
  tcpdump  # reads what `waygate capture` writes, in its test
  etcd-server etcd-client  # the directory's store, for the namespace tests
  keepalived  # a connector pair's floating addresses (VRRP), for the failover test
  chromium  # the portal's browser test (driven by playwright-core from npm)
)

# The portal's web assets come from npm at build time (framework/control/portal/): node and npm,
# Debian's when the machine has none of its own.
command -v npm >/dev/null || PACKAGES+=(nodejs npm)
[[ ${1:-} == --bench ]] && PACKAGES+=(openvpn nebula gnuplot-nox openssl linux-perf)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=$([[ $(id -u) -eq 0 ]] || echo sudo)
  echo "installing: ${missing[*]}"
  # A package that brings a daemon (etcd) must not start one here: the tests run their own, in
  # namespaces of their own. Debian's policy-rc.d says so to the packages' scripts.
  policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
