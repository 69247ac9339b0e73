#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make matrix`: `make check` on every supported kernel series, with the debug kernel on
# both architectures (arm64 and 32-bit ARM) and the KASAN kernel on arm64 (built with
# clang-19: CMABUF_KASAN=1, CMABUF_KASAN=0 leaves it out; Documentation/reliability.rst),
# one after the other, then `make scale` (the big boards, scripts/scale.sh). Each
# series' results go to build/matrix-<series>.log, make scale's to
# build/matrix-scale.log; prints one line per series and one for make scale, then the
# totals as
# "N passed, N failed, N skipped". Takes about an hour warm (kernels cached), more cold.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$top/build"
pass=0 fail=0 skip=0 rc=0
for series in ${CMABUF_MATRIX_SERIES:-7.2 7.3}; do
	out=$top/build/matrix-$series.log
	printf '[cmabuf] matrix: Linux %s, arm64 + arm, plain + debug (+ KASAN on arm64) kernels -> %s\n' "$series" "$out" >&2
	env -u ARCH -u KDIR -u KVER KERNEL_SERIES="$series" CMABUF_ARM_DEBUG=1 \
		CMABUF_KASAN="${CMABUF_KASAN:-1}" \
		"$top/scripts/check.sh" >"$out" 2>&1 || rc=1
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -1)
	if [ -z "$summary" ]; then
		echo "Linux $series: no summary (see $out)"
		fail=$((fail + 1)) rc=1
		continue
	fi
	echo "Linux $series: $summary"
	grep '^# failed:' "$out" || true
	read -r p _ f _ s _ <<<"$summary"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done
# make scale: the big boards (scripts/scale.sh), on the default series only.
out=$top/build/matrix-scale.log
printf '[cmabuf] matrix: make scale -> %s\n' "$out" >&2
env -u ARCH -u KDIR -u KVER "$top/scripts/scale.sh" >"$out" 2>&1 || rc=1
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -1)
if [ -z "$summary" ]; then
	echo "make scale: no summary (see $out)"
	fail=$((fail + 1)) rc=1
else
	echo "make scale: $summary"
	grep '^# failed:' "$out" || true
	read -r p _ f _ s _ <<<"$summary"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
fi
echo "$pass passed, $fail failed, $skip skipped"
exit $rc
