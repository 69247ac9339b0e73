#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch and unpack Debian's linux-source-$KERNEL_SERIES into the cache and print the
# source directory. Uses a private apt configuration: the system's sources are never
# touched. Falls back from sid to trixie-backports, then to the newest linux-source-7.x.
set -euo pipefail
. "$(dirname "$0")/env.sh"

apt_dir=$CMABUF_CACHE/apt
src_root=$CMABUF_CACHE/src

# Already unpacked? Then we are done (idempotent, offline).
existing=$(ls -d "$src_root"/linux-source-"$KERNEL_SERIES" 2>/dev/null || true)
if [ -n "$existing" ] && [ -e "$existing/.unpacked" ]; then
	echo "$existing"
	exit 0
fi

mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
mirror=${mirror:-http://deb.debian.org/debian}
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$src_root"
cat >"$apt_dir/sources.list" <<EOS
deb $mirror sid main
deb $mirror trixie-backports main
EOS
APT=(-o Dir::Etc::SourceList="$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::Archives="$apt_dir/archives"
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root)

log "refreshing private package lists (sid, trixie-backports)"
apt-get "${APT[@]}" update -qq

pkg=linux-source-$KERNEL_SERIES
if ! apt-cache "${APT[@]}" show "$pkg" >/dev/null 2>&1; then
	newest=$(apt-cache "${APT[@]}" pkgnames linux-source-7. | sort -V | tail -1)
	[ -n "$newest" ] || die "no linux-source-7.x in sid or trixie-backports"
	log "WARNING: $pkg is in neither sid nor trixie-backports; falling back to $newest"
	log "         (set KERNEL_SERIES=${newest#linux-source-} to silence this)"
	pkg=$newest
fi
series=${pkg#linux-source-}

log "downloading $pkg"
(cd "$apt_dir/archives" && apt-get "${APT[@]}" download -qq "$pkg")
deb=$(ls -t "$apt_dir/archives/${pkg}"_*.deb | head -1)

stage=$CMABUF_CACHE/stage
rm -rf "$stage" && mkdir -p "$stage"
dpkg -x "$deb" "$stage"
dest=$src_root/linux-source-$series
rm -rf "$dest"
log "unpacking $(basename "$deb")"
tar -C "$src_root" -xf "$stage/usr/src/linux-source-$series.tar.xz"
rm -rf "$stage"
dpkg-deb -f "$deb" Version >"$dest/.debian-version"
touch "$dest/.unpacked"
echo "$dest"
