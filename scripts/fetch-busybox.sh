#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch Debian's static busybox for the guest architecture into the cache and print
# the binary's path. Uses a private apt configuration for the foreign architecture.
set -euo pipefail
. "$(dirname "$0")/env.sh"

deb_arch=${DEB_ARCH:-arm64}
dest=$CMABUF_CACHE/busybox-$deb_arch
if [ -x "$dest/bin/busybox" ]; then
	echo "$dest/bin/busybox"
	exit 0
fi

apt_dir=$CMABUF_CACHE/apt-$deb_arch
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial"
grep -h -v '^#' /etc/apt/sources.list.d/debian.sources >"$apt_dir/debian.sources"
mkdir -p "$apt_dir/sources.d" && cp "$apt_dir/debian.sources" "$apt_dir/sources.d/"
APT=(-o APT::Architecture="$deb_arch" -o APT::Architectures="$deb_arch"
	-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$apt_dir/sources.d"
	-o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache::Archives="$apt_dir/archives"
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root)

log "fetching busybox-static for $deb_arch"
# A list that fails (a mirror in mid-sync) need not be busybox's: try the download.
apt-get "${APT[@]}" update -qq || log "warning: some package lists failed to refresh; trying anyway"
(cd "$apt_dir/archives" && apt-get "${APT[@]}" download -qq "busybox-static:$deb_arch")
rm -rf "$dest.tmp" && mkdir -p "$dest.tmp"
dpkg -x "$(ls -t "$apt_dir"/archives/busybox-static_*.deb | head -1)" "$dest.tmp"
mkdir -p "$dest.tmp/bin.out" && mv "$dest.tmp/bin/busybox" "$dest.tmp/bin.out/busybox"
rm -rf "$dest" && mkdir -p "$dest" && mv "$dest.tmp/bin.out" "$dest/bin" && rm -rf "$dest.tmp"
echo "$dest/bin/busybox"
