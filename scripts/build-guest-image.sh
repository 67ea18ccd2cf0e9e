#!/usr/bin/env bash
# Builds the kernel + busybox initramfs that the real-guest tests (test/guests/) boot under libvirt/qemu.
# Everything comes from Debian packages: the current kernel package (apt-get download), busybox-static,
# and the C fence_virt agent with the libraries it loads, so a fresh CI clone can build it unattended.
# The result is cached per kernel version and rebuilt only when the recipe or its inputs change.
# Prints the image directory (holding vmlinuz and initrd.img) as the last line of stdout.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
init_script="$repo/test/guests/image/init"
cache_root=${FENCE_VIRTD_GUEST_CACHE:-/var/cache/fence-virtd-test}
fence_virt=/usr/sbin/fence_virt
# Modules the init script may load, by feature; modprobe below adds their dependencies in load order.
virtio_modules=(virtio_pci virtio_console)
ninep_modules=(9pnet_virtio 9p)
# The vsock core with the loopback transport only: inside the guest CID 1 is the guest itself, and
# without a virtio-vsock device nothing can reach the machine running the guest. vsock_diag lets
# `ss --vsock` show which ports are listening.
vsock_modules=(vsock_loopback vsock_diag)

kernel_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}
pkg=$(kernel_pkg)
if [ -z "$pkg" ]; then
  apt-get update -q >&2
  pkg=$(kernel_pkg)
fi
[ -n "$pkg" ] || { echo "build-guest-image: no kernel package named by linux-image-amd64" >&2; exit 1; }
kver=${pkg#linux-image-}

out="$cache_root/$kver"
mkdir -p "$out"
# Concurrent test runs share the cache: one builds, the others wait and reuse it.
exec 9>"$out/.lock"
flock 9

# The stamp names every input; any change (recipe, init, agent, busybox) rebuilds.
stamp=$(cat "$0" "$init_script" "$fence_virt" /bin/busybox | sha256sum | cut -d' ' -f1)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -f "$out/vmlinuz" ] && [ -f "$out/initrd.img" ]; then
  echo "$out"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Keep the downloaded package: a recipe change then rebuilds without downloading 70 MB again.
deb=$(ls "$out"/"$pkg"_*.deb 2>/dev/null | head -n1 || true)
if [ -z "$deb" ]; then
  # Needs the network: the test runner's namespace has none, so scripts/setup-test-env.sh runs this first.
  (cd "$work" && apt-get download "$pkg" >&2 2>/dev/null || { apt-get update -q >&2 && apt-get download "$pkg" >&2; }) || {
    echo "build-guest-image: cannot download $pkg; run scripts/build-guest-image.sh where the network is reachable" >&2
    exit 1
  }
  mv "$work"/"$pkg"_*.deb "$out"/
  deb=$(ls "$out"/"$pkg"_*.deb | head -n1)
fi
dpkg -x "$deb" "$work/kernel"
depmod -b "$work/kernel" "$kver"

root="$work/root"
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib/modules,usr/lib64,proc,sys,dev,tmp,run,host,etc}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

cp /bin/busybox "$root/usr/bin/busybox"
for applet in $(/bin/busybox --list); do
  [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
done
install -m 0755 "$init_script" "$root/init"

# Writes the load order of the named modules (dependencies first, each once) and copies the files.
add_modules() {
  local list=$1; shift
  local seen=" " m path rel
  : >"$root/usr/lib/modules/$list"
  for m in "$@"; do
    for path in $(modprobe -d "$work/kernel" -S "$kver" --show-depends "$m" | awk '$1 == "insmod" { print $2 }'); do
      rel=${path#"$work/kernel/lib/modules/$kver/"}
      case $seen in *" $rel "*) continue ;; esac
      seen="$seen$rel "
      mkdir -p "$root/usr/lib/modules/$(dirname "$rel")"
      cp "$path" "$root/usr/lib/modules/$rel"
      echo "$rel" >>"$root/usr/lib/modules/$list"
    done
  done
}
add_modules virtio.list "${virtio_modules[@]}"
add_modules 9p.list "${ninep_modules[@]}"
add_modules vsock.list "${vsock_modules[@]}"

# The C agent, its libraries, and the NSS crypto modules it dlopens (not shown by ldd of the binary).
copy_file() {
  local dest="$root$(realpath "$(dirname "$1")")/$(basename "$1")"
  mkdir -p "$(dirname "$dest")"
  cp -L "$1" "$dest"
}
libdir=/usr/lib/x86_64-linux-gnu
for obj in "$fence_virt" "$libdir"/libsoftokn3.so "$libdir"/libfreebl3.so "$libdir"/libfreeblpriv3.so "$libdir"/libz.so.1; do
  copy_file "$obj"
  for lib in $(ldd "$obj" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
    copy_file "$lib"
  done
done
cp "$libdir"/libsoftokn3.chk "$libdir"/libfreebl3.chk "$libdir"/libfreeblpriv3.chk "$root$libdir"/

cp "$work/kernel/boot/vmlinuz-$kver" "$work/vmlinuz"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.img"
mv "$work/vmlinuz" "$work/initrd.img" "$out"/
echo "$stamp" >"$out/stamp"
echo "$out"
