#!/usr/bin/env bash
# Installs and starts every real component the test suite talks to: libvirtd (test driver and qemu),
# socat, the C fence-virt 4.12 tools (the oracle for differential tests), corosync, qemu and the tools
# used to build a guest image. Idempotent: safe to run again on a machine that already has them.
set -euo pipefail

packages=(
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  socat iproute2 procps libxml2-utils
  fence-virtd fence-virt
  corosync libcpg-dev libvotequorum-dev
  qemu-system-x86 busybox-static cpio kmod
  rpm rpmlint
  pacemaker pacemaker-cli-utils
  strace man-db systemd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  # Packages must not start their services (Debian's fence-virtd would start its own daemon): the tests
  # start exactly the instances they need. policy-rc.d is Debian's switch for that; ours is removed after.
  policy=/usr/sbin/policy-rc.d
  own_policy=
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own_policy=1
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
  if [ -n "$own_policy" ]; then rm -f "$policy"; trap - EXIT; fi
fi

# A fence_virtd that a package started earlier holds the default ports: stop it by its pid file.
pid_file=/run/fence_virtd.pid
if [ -s "$pid_file" ]; then
  pid=$(cat "$pid_file")
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = fence_virtd ]; then kill "$pid"; fi
fi

# The qemu driver refuses to start without these accounts; run guests as root in this test bed.
getent group kvm >/dev/null || groupadd -r kvm
getent group libvirt-qemu >/dev/null || groupadd -r libvirt-qemu
getent passwd libvirt-qemu >/dev/null || useradd -r -g kvm libvirt-qemu
grep -qs '^user = "root"' /etc/libvirt/qemu.conf || printf 'user = "root"\ngroup = "root"\n' >> /etc/libvirt/qemu.conf
mkdir -p /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /run/libvirt

# The guest tests boot qemu guests from an image built from Debian packages; the tests themselves run
# without network, so the kernel package is fetched here.
bash "$(dirname "$0")/build-guest-image.sh" >/dev/null

# Started unless the system's own is running, by its pid file: a name match would take a test's private
# libvirtd (test/support/private-libvirtd.ts) for the system one.
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
running /run/virtlogd.pid || virtlogd -d || true
running /run/libvirtd.pid || libvirtd -d || true # the loop below checks it serves
for _ in $(seq 1 50); do
  [ -S /run/libvirt/libvirt-sock ] && virsh -c test+unix:///default list >/dev/null 2>&1 && break
  sleep 0.2
done
virsh -c test+unix:///default list >/dev/null
echo "test environment ready: libvirtd $(libvirtd --version | awk '{print $NF}'), fence_virtd $(dpkg-query -W -f='${Version}' fence-virtd)"
