#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Drop cmabuf into a kernel source tree, to build it there like any driver
# (CONFIG_CMABUF=m or y, Kconfig at the top of this repository):
#  - copies what the kernel build needs (Kconfig, Kbuild, rust/, include/) to
#    <kernel>/<dir>, default drivers/misc/cmabuf; files already identical are left
#    alone (an incremental build then recompiles nothing), files cmabuf no longer has
#    are removed;
#  - adds `source "<dir>/Kconfig"` to <dir>/../Kconfig (before its last endmenu) and
#    `obj-$(CONFIG_CMABUF) += cmabuf/` to <dir>/../Makefile, once.
# Running it again updates the copy (idempotent). Edited kernel files are replaced,
# never written in place, so a hard-linked copy of a tree (cp -al) leaves the original
# untouched. Refuses a tree it does not recognise, saying why.
#
# The Rust bindings cmabuf needs beyond the kernel's (rust/ffi/sys/generated.rs) are
# part of the sources, made by scripts/gen-bindings.sh and checked against each kernel
# it is tested on (make check's host.bindings_match_kernel_headers): nothing is generated
# in the kernel tree.
#
# usage: install-in-tree.sh <kernel source dir> [dir in the tree, default drivers/misc/cmabuf]
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
die() { printf 'install-in-tree.sh: error: %s\n' "$*" >&2; exit 1; }

[ $# -ge 1 ] && [ $# -le 2 ] ||
	die "usage: install-in-tree.sh <kernel source dir> [dir in the tree, default drivers/misc/cmabuf]"
ksrc=$1 rel=${2:-drivers/misc/cmabuf}
rel=${rel%/}
case $rel in
/* | *..* | '' | */*/*/*/*) die "$rel: give a directory inside the tree, e.g. drivers/misc/cmabuf" ;;
*/*) ;;
*) die "$rel: give a directory below a drivers directory, e.g. drivers/misc/cmabuf" ;;
esac
# A kernel source tree: its top Makefile names VERSION and PATCHLEVEL, it has Kbuild's
# scripts and Rust support, and the parent directory has a Kconfig and a Makefile.
[ -d "$ksrc" ] || die "$ksrc: no such directory"
ksrc=$(cd "$ksrc" && pwd)
parent=$ksrc/$(dirname "$rel") name=$(basename "$rel")
[ -e "$ksrc/Kbuild" ] && [ -e "$ksrc/scripts/Makefile.build" ] && [ -e "$ksrc/Makefile" ] ||
	die "$ksrc is not a Linux kernel source tree (no Kbuild, Makefile or scripts/Makefile.build)"
version=$(sed -n 's/^VERSION = //p' "$ksrc/Makefile")
patchlevel=$(sed -n 's/^PATCHLEVEL = //p' "$ksrc/Makefile")
[[ $version =~ ^[0-9]+$ && $patchlevel =~ ^[0-9]+$ ]] ||
	die "$ksrc/Makefile has no VERSION and PATCHLEVEL: not a kernel source tree?"
# cmabuf uses the Rust abstractions of Linux 7.2 (platform drivers, module parameters,
# misc devices, of::IdTable); older kernels lack some of them.
((version * 100 + patchlevel >= 702)) ||
	die "$ksrc is Linux $version.$patchlevel: cmabuf needs 7.2 or later (it is tested on 7.2 and 7.3)"
[ -d "$ksrc/rust/kernel" ] || die "$ksrc has no rust/kernel: cmabuf needs a kernel with Rust support"
[ -e "$parent/Kconfig" ] && [ -e "$parent/Makefile" ] ||
	die "$(dirname "$rel") has no Kconfig and Makefile in $ksrc: choose a directory like drivers/misc/cmabuf"
grep -q '^endmenu' "$parent/Kconfig" ||
	die "$parent/Kconfig has no endmenu line to put cmabuf's entry before"
dest=$ksrc/$rel
# Never overwrite a directory that is not an earlier copy of cmabuf.
if [ -e "$dest" ] && ! grep -qs '^config CMABUF$' "$dest/Kconfig"; then
	die "$dest exists and is not cmabuf (no 'config CMABUF' in its Kconfig): remove it or choose another directory"
fi

# Nor install a second copy: two `config CMABUF` would clash.
elsewhere=$(grep -rlx --include=Kconfig 'config CMABUF' "$ksrc/drivers" 2>/dev/null |
	grep -vxF "$dest/Kconfig" | head -1 || true)
[ -z "$elsewhere" ] ||
	die "cmabuf is already in this tree at ${elsewhere%/Kconfig}: install over that directory (or remove it and its lines in the Kconfig and Makefile beside it)"

# Replaces file with the content of tmp unless identical (a new inode either way:
# hard links to the old file keep the old content).
replace() { # tmp, file
	if cmp -s "$1" "$2"; then
		rm -f "$1"
	else
		chmod 644 "$1"
		mv -f "$1" "$2"
	fi
}

# The files: the Kbuild description, the crate and its C shim, the uAPI header.
cd "$top"
mapfile -t files < <({
	printf '%s\n' Kconfig Kbuild
	find rust include -type f \( -name '*.rs' -o -name '*.c' -o -name '*.h' \)
} | sort)
for f in "${files[@]}"; do
	mkdir -p "$dest/$(dirname "$f")"
	tmp=$(mktemp "$dest/.install.XXXXXX")
	cp "$f" "$tmp"
	replace "$tmp" "$dest/$f"
done
# Files of an earlier copy that cmabuf no longer has (a build then never sees them).
while IFS= read -r old; do
	old=${old#"$dest"/}
	printf '%s\n' "${files[@]}" | grep -qxF "$old" || rm -f "$dest/$old"
done < <(find "$dest" -type f \( -name '*.rs' -o -name '*.c' -o -name '*.h' \))

# The parent's Kconfig sources cmabuf's, before its last endmenu.
line="source \"$rel/Kconfig\""
if ! grep -qxF "$line" "$parent/Kconfig"; then
	tmp=$(mktemp "$parent/.install.XXXXXX")
	awk -v line="$line" '{ lines[NR] = $0 } /^endmenu/ { last = NR }
		END { for (i = 1; i <= NR; i++) { if (i == last) print line; print lines[i] } }' \
		"$parent/Kconfig" >"$tmp"
	replace "$tmp" "$parent/Kconfig"
fi
line="obj-\$(CONFIG_CMABUF)		+= $name/"
if ! grep -qE "^obj-\\\$\\(CONFIG_CMABUF\\)[[:space:]]+\\+= $name/\$" "$parent/Makefile"; then
	tmp=$(mktemp "$parent/.install.XXXXXX")
	{ cat "$parent/Makefile"; echo "$line"; } >"$tmp"
	replace "$tmp" "$parent/Makefile"
fi
echo "cmabuf is in $dest: enable CONFIG_CMABUF (m or y; menuconfig: Device Drivers > Misc devices)"
