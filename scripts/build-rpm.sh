#!/usr/bin/env bash
# `npm run rpm`: builds the binary RPM dist/rpm/fence-virtd-VERSION-1.ARCH.rpm (rpm/fence-virtd.spec)
# from the bundles, this platform's native addons, the systemd unit, the default configuration and
# the man pages generated from the programs' own option and key tables. Works with Debian's rpmbuild.
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
rm -rf "$out"
mkdir -p "$stage/lib/node_modules" "$stage/man"

# The bundles are extensionless ES modules: their package.json says so.
cp dist/fence_virtd dist/fence_xvm dist/fence_virt "$stage/lib/"
printf '{ "name": "fence-virtd-runtime", "private": true, "type": "module" }\n' >"$stage/lib/package.json"

# Run-time packages the bundles leave external: the production dependency tree as installed.
while IFS= read -r path; do
  rel=${path#"$repo/"}
  case $rel in
    node_modules/@fence-virtd/*)
      # A workspace addon: its loader and the compiled module, not its sources. The cpg addon is only
      # built where the corosync headers exist; without it the package simply has no cpg backend.
      name=${rel##*/}
      [ -f "native/$name/build/Release/$name.node" ] || continue
      dest=$stage/lib/$rel
      mkdir -p "$dest/build/Release"
      cp "native/$name/package.json" "native/$name/index.cjs" "$dest/"
      cp "native/$name/build/Release/$name.node" "$dest/build/Release/"
      ;;
    node_modules/*)
      mkdir -p "$stage/lib/$(dirname "$rel")"
      cp -aT "$path" "$stage/lib/$rel"
      ;;
  esac
done < <(npm ls --omit=dev --all --parseable)

# Prebuilt addons of other platforms (and musl builds) would only add wrong automatic requirements.
find "$stage/lib/node_modules" -type d -path '*/prebuilds/*' ! -name "$platform" -prune -exec rm -rf {} +
find "$stage/lib/node_modules" -name '*.musl.node' -delete

cp packaging/fence_virtd.service packaging/fence_virtd.sysconfig packaging/fence_virt.conf README.md "$stage/"
# Pages dated by the last commit, so a rebuild of the same tree gives the same pages.
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s) node --import tsx packaging/docs/generate.ts --man "$stage/man"
gzip -9n "$stage"/man/*

rpmbuild -bb --nodeps --quiet \
  --define "_topdir $top" \
  --define "stage $stage" \
  --define "pkg_version $version" \
  rpm/fence-virtd.spec
mv "$top"/RPMS/*/*.rpm "$out/"
rm -rf "$top"
ls -1 "$out"/*.rpm
