#!/usr/bin/env bash
# `npm run rpm`: builds the binary RPMs of rpm/fence-virtd.spec into dist/rpm/ from the bundles, this
# platform's native addons, the systemd unit, the default configuration and the man pages generated
# from the programs' own option and key tables. Works with Debian's rpmbuild. Packages, split as the
# C fence-virt packages are:
#   fence-virt       the guest agents fence_xvm and fence_virt, in /usr/lib/fence-virt
#   fence-virtd      the host daemon, every listener and the libvirt backend, in /usr/lib/fence-virtd
#   fence-virtd-cpg  the cpg backend's addon, built only where the corosync headers exist
# Lint them: rpmlint -c rpm/rpmlint.toml dist/rpm/*.rpm
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
command -v rpmbuild >/dev/null || { echo "rpmbuild is missing: apt-get install rpm (Debian) or dnf install rpm-build" >&2; exit 1; }

npm run build
version=$(node -p "require('./package.json').version")
platform=$(node -p "process.platform + '-' + process.arch")
out=$repo/dist/rpm
top=$out/build
stage=$top/stage
agents=$stage/fence-virt
daemon=$stage/fence-virtd
rm -rf "$out"
mkdir -p "$agents" "$daemon" "$stage/man"

# A bundle as an installed program: its shebang names the node a package manager installs
# (/usr/bin/node), not whichever `env` finds first; node flags, if a bundle has any, stay on the line.
install_bundle() {
  sed -E '1s|^#!/usr/bin/env (-S )?node( \|$)|#!/usr/bin/node\2|' "dist/$1" >"$2/$1"
  chmod 0755 "$2/$1"
}

# A workspace addon: its loader and the compiled module, stripped, not its sources.
install_addon() {
  local name=$1 dest=$2/node_modules/@fence-virtd/$1
  mkdir -p "$dest/build/Release"
  cp "native/$name/package.json" "native/$name/index.cjs" "$dest/"
  cp "native/$name/build/Release/$name.node" "$dest/build/Release/"
  strip --strip-unneeded "$dest/build/Release/$name.node"
}

# Each tree is one bundle directory with the packages it loads at run time: an installed program
# resolves them from node_modules beside its real path (the /usr/sbin names are links). The bundles are
# CommonJS (tsup.config.ts), which the tree's package.json says, as dist/package.json does.
for tree in "$agents" "$daemon"; do
  printf '{ "name": "fence-virtd-runtime", "private": true, "type": "commonjs" }\n' >"$tree/package.json"
done
install_bundle fence_xvm "$agents"
install_bundle fence_virt "$agents"
install_bundle fence_virtd "$daemon"
# The daemon's fence_virtd is a loader; the bundle it runs and the bundle's V8 code cache lie beside it.
install -m 0644 dist/fence_virtd.main.js dist/fence_virtd.main.js.cache "$daemon/"
# Both need the vsock addon (the agents also for virtio-serial ports): each package has its own copy.
install_addon vsock "$agents"
install_addon vsock "$daemon"
# The cpg addon goes into the daemon's tree, where its loader looks, but into its own package.
with_cpg=()
if [ -f native/cpg/build/Release/cpg.node ]; then
  install_addon cpg "$daemon"
  with_cpg=(--with cpg)
fi

# The agents' other run-time packages (serialport, for ttys): the production dependency tree as
# installed. The daemon's bundle loads nothing but the addons.
while IFS= read -r path; do
  rel=${path#"$repo/"}
  case $rel in
    node_modules/@fence-virtd/*) ;;
    node_modules/*)
      mkdir -p "$agents/$(dirname "$rel")"
      cp -aT "$path" "$agents/$rel"
      ;;
  esac
done < <(npm ls --omit=dev --all --parseable)

# What the installed tree never runs. Prebuilt addons of other platforms (and musl builds) would only
# add wrong automatic requirements; node-addon-api (C++ headers) and addon sources only build addons,
# which ship prebuilt; packages' command-line tools (their "bin") serve npm's install step; dotfiles
# are the packages' own tooling settings.
modules=$agents/node_modules
find "$modules" -type d -path '*/prebuilds/*' ! -name "$platform" -prune -exec rm -rf {} +
find "$modules" -name '*.musl.node' -delete
find "$modules" -type d -name node-addon-api -prune -exec rm -rf {} +
find "$modules" -type f \( -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.h' -o -name 'binding.gyp' -o -name '.*' \) -delete
find "$modules" -name package.json -print0 | xargs -0 node -e '
  const { dirname, join } = require("node:path");
  const { rmSync } = require("node:fs");
  for (const file of process.argv.slice(1)) {
    const bin = require(file).bin ?? {};
    for (const tool of typeof bin === "string" ? [bin] : Object.values(bin)) rmSync(join(dirname(file), tool), { force: true });
  }'
find "$modules" -type d -empty -delete

cp packaging/fence_virtd.service packaging/fence_virtd.sysconfig packaging/fence_virt.conf README.md docs/cpg.md "$stage/"
# Pages dated by the last commit, so a rebuild of the same tree gives the same pages.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s) node --import tsx packaging/docs/generate.ts --man "$stage/man"
gzip -9n "$stage"/man/*

rpmbuild -bb --nodeps --quiet "${with_cpg[@]}" \
  --define "_topdir $top" \
  --define "stage $stage" \
  --define "pkg_version $version" \
  rpm/fence-virtd.spec
mv "$top"/RPMS/*/*.rpm "$out/"
rm -rf "$top"
ls -1 "$out"/*.rpm
