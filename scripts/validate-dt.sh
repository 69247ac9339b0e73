#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Validate cmabuf's device-tree binding (Documentation/devicetree/bindings/misc/
# cmabuf,pool.yaml) with dtschema, and every overlay in dts/ and dts/examples/ against
# it, each merged onto QEMU virt's DTB as a bootloader would. Only the cmabuf,pool and
# shared-dma-pool nodes are judged (QEMU's own nodes have no schemas here). The
# test-only bad consumers (dts/test-consumers.dtso) must fail exactly where expected.
# Prints TAP lines "ok N dt.<name>" for host-checks.sh (numbered from $1).
#
# usage: validate-dt.sh <first TAP number>
set -uo pipefail
. "$(dirname "$0")/env.sh"

n=$1
bindings=$CMABUF_TOP/Documentation/devicetree/bindings
work=$CMABUF_BUILD/dt-validate
mkdir -p "$work"
export PYTHONPATH=$CMABUF_CACHE/dtschema PATH=$CMABUF_CACHE/dtschema/bin:$PATH

tap() { # status (0 = ok), name, diagnostics
	if [ "$1" = 0 ]; then echo "ok $n host.dt.$2"; else
		echo "not ok $n host.dt.$2"; printf '%s\n' "$3" | head -30 | sed 's/^/# /'; fi
	n=$((n + 1))
}

out=$(dt-doc-validate -u "$bindings" "$bindings/misc/cmabuf,pool.yaml" 2>&1)
tap $? binding_is_valid_dtschema "$out"
dt-mk-schema -j "$bindings" >"$work/processed.json" 2>"$work/mk-schema.log"
tap $? binding_compiles "$(cat "$work/mk-schema.log")"

# The cmabuf and pool findings for a board made of the given overlays.
findings() { # name, overlays...
	local name=$1; shift
	"$CMABUF_TOP/scripts/make-dtb.sh" "$work/$name.dtb" "$@" 2>&1 || return 1
	dt-validate -s "$work/processed.json" "$work/$name.dtb" 2>&1 |
		grep -E '\((cmabuf,pool|shared-dma-pool)\)|cmabuf,' || true
}
D=$CMABUF_TOP/dts

got=$(findings board "$D/pools.dtso" "$D/cmabuf-pools.dtso")
tap $([ -z "$got" ]; echo $?) board_overlays_valid "$got"
got=$(findings runtime "$D/pools.dtso" "$D/cmabuf-pools.dtso" "$D/test-regions.dtso" \
	"$D/runtime-pool.dtso" "$D/runtime-claimed.dtso" "$D/runtime-heap-clash.dtso" \
	"$D/runtime-heap-twin.dtso" "$D/runtime-arena.dtso")
tap $([ -z "$got" ]; echo $?) runtime_overlays_valid "$got"
got=$(findings highmem "$D/pools.dtso" "$D/cmabuf-pools.dtso" "$D/highmem-pool.dtso")
tap $([ -z "$got" ]; echo $?) highmem_pool_overlay_valid "$got"
# make scale's board (arm64): a 4.5 GiB pool above 4 GiB, merged onto that board's DTB
# (8 GiB of RAM: env.sh CMABUF_BOARD=scale).
if [ "$ARCH" = arm64 ]; then
	got=$(CMABUF_BOARD=scale findings scale "$D/pools.dtso" "$D/cmabuf-pools.dtso" "$D/big-pool.dtso")
	tap $([ -z "$got" ]; echo $?) big_pool_overlay_valid "$got"
	# make bench's aging board: a 256 MiB pool beside the board's own (dts/aging-pool.dtso).
	got=$(findings aging "$D/pools.dtso" "$D/cmabuf-pools.dtso" "$D/aging-pool.dtso")
	tap $([ -z "$got" ]; echo $?) aging_pool_overlay_valid "$got"
fi
# The LPAE board's pool above 4 GiB (on ARCH=arm merged onto that board, env.sh).
got=$(CMABUF_LPAE=1 findings lpae "$D/pools.dtso" "$D/cmabuf-pools.dtso" "$D/highmem-pool.dtso" \
	"$D/lpae-pool.dtso")
tap $([ -z "$got" ]; echo $?) lpae_pool_overlay_valid "$got"
for ex in "$D"/examples/*.dtso; do
	got=$(findings "example-$(basename "$ex" .dtso)" "$ex")
	tap $([ -z "$got" ]; echo $?) "example_$(basename "$ex" .dtso | tr - _)_valid" "$got"
done

# The test consumers break the binding on purpose: exactly these nodes must be flagged
# (the others break rules only the driver can check, such as a no-map region).
expected="bad-heap-name bad-label bad-limit bad-no-region bad-two-regions"
got=$(findings test "$D/pools.dtso" "$D/cmabuf-pools.dtso" "$D/test-regions.dtso" \
	"$D/test-consumers.dtso" | sed -n 's/^[^:]*: \([a-z0-9-]*\) (cmabuf,pool).*/\1/p' | sort -u | xargs)
tap $([ "$got" = "$expected" ]; echo $?) test_consumers_fail_as_expected \
	"flagged: [$got], expected: [$expected]"
