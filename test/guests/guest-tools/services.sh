#!/bin/sh
# Runs inside a hostRoot guest (chrooted into the host's root): starts and stops the background
# programs of a guest scenario. Each service NAME keeps its output in /run/tmp/NAME.log and its PID
# in /run/tmp/NAME.pid; guest commands return at once, so services must be started in the background.
#   services.sh libvirtd CONF          libvirtd with only its built-in test driver, on writable tmpfs
#   services.sh start NAME PORT CMD…   start CMD; wait until something listens on vsock port PORT
#   services.sh listening NAME PORT    wait until service NAME (or anything) listens on vsock port PORT
#   services.sh stop NAME              SIGTERM by PID, wait for the exit, print the output
#   services.sh log NAME               print the output so far
set -u
run=/run/tmp
WAIT_SECONDS=60

# Whether process $1 runs. Not kill -0: an orphan's zombie stays until the guest's init reaps it.
alive() {
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}

not_alive() { ! alive "$1"; }

# Waits (up to 60 s) until "$@" succeeds, or fails early when the process in pid file $1 is gone.
wait_for() {
  pidfile=$1
  shift
  deadline=$(($(date +%s) + WAIT_SECONDS))
  until "$@"; do
    if [ -n "$pidfile" ] && ! alive "$(cat "$pidfile")"; then
      echo "services.sh: the process of $pidfile exited while waiting for: $*" >&2
      return 1
    fi
    if [ "$(date +%s)" -gt "$deadline" ]; then
      echo "services.sh: timed out waiting for: $*" >&2
      return 1
    fi
    # Not faster: under emulation every check takes CPU from the program being waited for.
    sleep 0.5
  done
}

# ss lists vsock sockets through vsock_diag: "*:PORT" is a listener on VMADDR_CID_ANY.
vsock_listening() {
  ss -Hl --vsock | awk -v want="*:$1" '$5 == want { found = 1 } END { exit !found }'
}

case $1 in
libvirtd)
  # The guest sees the host's root read-only: libvirtd's state, cache and log directories get a
  # tmpfs of their own (/run is one already). An empty driver directory leaves libvirtd with its
  # built-in drivers (the test driver among them): the qemu driver would probe qemu at start.
  for dir in /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
    mount -t tmpfs tmpfs "$dir" || exit 1
  done
  mkdir -p "$run/no-drivers"
  LIBVIRT_DRIVER_DIR="$run/no-drivers" libvirtd -d --config "$2" --pid-file "$run/libvirtd.pid" || exit 1
  wait_for "" virsh -q -c test+unix:///default list >/dev/null 2>&1
  ;;
start)
  name=$2 port=$3
  shift 3
  "$@" >"$run/$name.log" 2>&1 </dev/null &
  echo $! >"$run/$name.pid"
  wait_for "$run/$name.pid" vsock_listening "$port" || { cat "$run/$name.log"; exit 1; }
  ;;
listening)
  wait_for "$run/$2.pid" vsock_listening "$3" || { cat "$run/$2.log"; exit 1; }
  ;;
stop)
  pid=$(cat "$run/$2.pid") || exit 1
  kill "$pid" && wait_for "" not_alive "$pid" || exit 1
  cat "$run/$2.log"
  ;;
log)
  cat "$run/$2.log"
  ;;
*)
  echo "services.sh: unknown command $1" >&2
  exit 64
  ;;
esac
