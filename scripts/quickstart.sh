#!/usr/bin/env bash
# Newcomer path (Debian 12, Node.js 20, as root): install what the daemon needs, build it, write a
# scratch configuration that listens on loopback only and fences the domains of libvirt's test driver,
# check it, then run fence_virtd in the foreground and print the commands that fence a test domain.
#
#   FENCE_VIRTD_QUICKSTART_ONESHOT=1  run those commands itself and stop after the first successful fence
#   FENCE_VIRTD_QUICKSTART_PORT=N     multicast port N and TCP port N+1 (default 1229, 1230)
#   FENCE_VIRTD_QUICKSTART_DIR=DIR    where the configuration, key and pid file go (default: a new temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
say() { printf '\n== %s\n' "$*"; }

say "system packages: libvirtd (its built-in test driver stands in for real VMs), build tools"
need=()
command -v libvirtd >/dev/null || need+=(libvirt-daemon)
command -v virsh >/dev/null || need+=(libvirt-clients)
command -v ip >/dev/null || need+=(iproute2)
command -v pgrep >/dev/null || need+=(procps)
# npm ci compiles the vsock addon with node-gyp.
for tool in g++ make python3; do command -v "$tool" >/dev/null || need+=("$tool"); done
if ((${#need[@]})); then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"
fi
mkdir -p /var/log/libvirt /var/lib/libvirt /var/cache/libvirt /run/libvirt
# Its complaints about dmidecode and udev are harmless here; keep them out of the way.
pgrep -x libvirtd >/dev/null || libvirtd -d 2>/var/log/libvirt/quickstart-libvirtd.log || true
for _ in $(seq 1 50); do
  virsh -c test+unix:///default list >/dev/null 2>&1 && break
  sleep 0.2
done
virsh -c test+unix:///default list

say "npm packages and build"
# npm ci from a fresh clone; an installed tree that already matches the lockfile is kept.
if [ ! -d node_modules ] || ! npm ls --all >/dev/null 2>&1; then npm ci --no-audit --no-fund; fi
npm run build

say "a scratch configuration"
port=${FENCE_VIRTD_QUICKSTART_PORT:-1229}
tcp_port=$((port + 1))
dir=${FENCE_VIRTD_QUICKSTART_DIR:-$(mktemp -d /tmp/fence-virtd-quickstart.XXXXXX)}
mkdir -p "$dir"
conf=$dir/fence_virt.conf
key=$dir/fence_xvm.key
umask 077
dd if=/dev/urandom of="$key" bs=4096 count=1 status=none
group=225.0.0.12
# Multicast stays on loopback: only where a route sends the group to lo (e.g. a network namespace
# with `ip route add 224.0.0.0/4 dev lo`); elsewhere the group would go out on a real network.
if ip route get "$group" 2>/dev/null | grep -q ' dev lo '; then
  listeners="tcp multicast"
  multicast_block="	multicast {
		address = \"$group\";
		port = \"$port\";
		interface = \"lo\";
		key_file = \"$key\";
	}"
  echo "the multicast group $group is routed to lo: listeners tcp (127.0.0.1 port $tcp_port) and multicast (lo, port $port)"
else
  listeners="tcp"
  multicast_block=""
  echo "no route sends $group to lo, so multicast stays off (it would leave this host): listener tcp only (127.0.0.1 port $tcp_port)"
fi
cat >"$conf" <<EOF
fence_virtd {
	listener = "$listeners";
	backend = "libvirt";
}

listeners {
	tcp {
		address = "127.0.0.1";
		port = "$tcp_port";
		key_file = "$key";
	}
$multicast_block
}

backends {
	libvirt {
		uri = "test+unix:///default";
	}
}
EOF
echo "wrote $conf:"
cat "$conf"

say "fence_virtd --check"
"$repo/dist/fence_virtd" --check -f "$conf"

tcp_cmd=("$repo/dist/fence_virt" -T 127.0.0.1 -p "$tcp_port" -k "$key")
mc_cmd=("$repo/dist/fence_xvm" -a "$group" -p "$port" -k "$key")
say "commands that fence the test driver's domain 'test' (the C fence_virt/fence_xvm take the same options)"
echo "  ${tcp_cmd[*]} -o list"
echo "  ${tcp_cmd[*]} -o status -H test"
echo "  ${tcp_cmd[*]} -o off -H test"
echo "  ${tcp_cmd[*]} -o on -H test"
[ "$listeners" = tcp ] || echo "  ${mc_cmd[*]} -o reboot -H test"
echo "(libvirtd shares the test driver's default node among its open connections: turn 'test' on again when done)"

daemon=("$repo/dist/fence_virtd" -F -f "$conf" -p "$dir/fence_virtd.pid")
if [ "${FENCE_VIRTD_QUICKSTART_ONESHOT:-0}" != 1 ]; then
  say "fence_virtd in the foreground (Ctrl-C stops it)"
  exec "${daemon[@]}"
fi

say "one-shot: start fence_virtd, fence 'test' once, stop"
"${daemon[@]}" &
daemon_pid=$!
trap 'kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  "${tcp_cmd[@]}" -o list -t 2 >/dev/null 2>&1 && break
  kill -0 "$daemon_pid" 2>/dev/null || { echo "fence_virtd exited" >&2; exit 1; }
  sleep 0.2
done
"${tcp_cmd[@]}" -o list
if [ "$listeners" = tcp ]; then fence=("${tcp_cmd[@]}"); else fence=("${mc_cmd[@]}"); fi
"${fence[@]}" -o off -H test
echo "fenced: ${fence[*]} -o off -H test succeeded"
status=0
"${tcp_cmd[@]}" -o status -H test || status=$?
[ "$status" = 2 ] || { echo "expected status 2 (off) after the fence, got $status" >&2; exit 1; }
# Other clients of libvirtd may share the default test node: leave 'test' running as we found it.
"${tcp_cmd[@]}" -o on -H test
echo "quickstart one-shot done"
