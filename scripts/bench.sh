#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: cmabuf against the kernel's dma-buf CMA heap, on two platforms, several
# boots each (Documentation/benchmarks.md):
#  - kvm: the x86_64 guest under KVM, at hardware speed, cmabuf serving the default CMA
#    area (default_pool=) beside the heap of that area; CMABUF_KVM_BOOTS boots (5);
#  - tcg: the arm64 QEMU virt board under TCG emulation, the camera pool beside the
#    heap of its region: behaviour and ratios, not hardware times; CMABUF_TCG_BOOTS
#    boots (3).
# Each boot also measures what cmabuf's bookkeeping costs per live buffer
# (cmabuf_scale_bench: "Cost vs live buffers" in benchmarks.md). CMABUF_BENCH_RUNS
# chooses the runs of a boot (scripts/job.sh); "scale" alone writes only that part of
# the report (Documentation/benchmarks/scale.{md,json} and its section). "aging" (in
# the default list) adds boots of its own per platform, CMABUF_AGING_BOOTS (3), each
# with one seed of cmabuf_aging_bench (fragmentation after a camera's mode switches,
# against the CMA heap): Documentation/benchmarks/aging.{md,json} and its section
# (scripts/aging-report.py).
# CMABUF_BENCH_PLATFORMS="kvm tcg" chooses. When /dev/kvm is not usable the KVM section
# says so and is left out; it is never replaced by TCG figures.
# Writes Documentation/benchmarks/results.{md,json}, the plots and the figures section
# of Documentation/benchmarks.md (scripts/bench-report.py).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
S=$top/scripts
# Only for log/die and the cache path: each platform's job sets its own ARCH.
. "$S/env.sh"

lists=$(mktemp -d)
trap 'rm -rf "$lists"' EXIT
report_args=()
start=$SECONDS

# The runs of each platform's boots (scripts/job.sh): the aging run (cmabuf_aging_bench)
# has boots of its own, after the others'.
runs=${CMABUF_BENCH_RUNS:-scale cache-off cache-on aging}
other_runs= aging=0
for run in $runs; do
	if [ "$run" = aging ]; then aging=1; else other_runs+=${other_runs:+ }$run; fi
done
aging_args=() aging_default=

# usage: platform <name> <ARCH> <boots> [kernel command-line words...]
platform() {
	local name=$1 arch=$2 boots=$3
	shift 3
	if [ -n "$other_runs" ]; then
		log "bench: platform $name ($arch), $boots boots"
		env -u CROSS_COMPILE -u CMABUF_BUILD ARCH="$arch" CMABUF_BENCH_BOOTS="$boots" \
			CMABUF_BENCH_RUNS="$other_runs" CMABUF_BENCH_GUEST_ARGS="$*" \
			"$S/job.sh" bench --results "$lists/$name"
		mapfile -t logs < <(grep -v '^machine=' "$lists/$name")
		report_args+=(--platform "$name" "$(sed -n 's/^machine=//p' "$lists/$name")" "${logs[@]}")
	fi
	if [ "$aging" = 1 ]; then
		# CMABUF_AGING_BOOTS boots (3), one seed each (the boot's number);
		# CMABUF_AGING_ARGS: cmabuf_aging_bench's arguments (the platform's
		# aging_default if unset).
		local args=${CMABUF_AGING_ARGS-$aging_default}
		log "bench: platform $name ($arch), aging${args:+ ($args)}, ${CMABUF_AGING_BOOTS:-3} boots"
		env -u CROSS_COMPILE -u CMABUF_BUILD ARCH="$arch" CMABUF_BENCH_BOOTS="${CMABUF_AGING_BOOTS:-3}" \
			CMABUF_BENCH_RUNS=aging \
			CMABUF_BENCH_GUEST_ARGS="$* ${args:+cmabuf_aging=\"$args\"}" \
			"$S/job.sh" bench --results "$lists/aging-$name"
		mapfile -t logs < <(grep -v '^machine=' "$lists/aging-$name")
		aging_args+=(--platform "$name" "$(sed -n 's/^machine=//p' "$lists/aging-$name")" "${logs[@]}")
	fi
}

for name in ${CMABUF_BENCH_PLATFORMS:-kvm tcg}; do
	case $name in
	kvm)
		# As make check does (scripts/check.sh): QEMU for x86_64 only where there is a
		# /dev/kvm to try; kvm_usable (env.sh) says why it cannot serve, if so.
		why=
		if [ ! -e /dev/kvm ]; then
			why="/dev/kvm does not exist"
		elif ! ARCH=x86_64 "$S/install-toolchain.sh"; then
			why="the x86_64 toolchain (qemu-system-x86) could not be installed"
		elif ! why=$(env -u CMABUF_X86_TCG ARCH=x86_64 bash -c '. "$1/env.sh" && kvm_usable' - "$S" 2>&1); then
			[ -n "$why" ] || why="kvm_usable failed"
		else
			why=
		fi
		if [ -n "$why" ]; then
			log "bench: no KVM section: $why"
			report_args+=(--not-run kvm "$why")
			aging_args+=(--not-run kvm "$why")
			continue
		fi
		# The default CMA area (cma= in env.sh) served as /dev/cmabuf-default: the
		# guest is told so by run-qemu.sh (cmabuf_pool=default, cmabuf_params=).
		# The aging run: the tool's 100 000 operations.
		aging_default=
		platform kvm x86_64 "${CMABUF_KVM_BOOTS:-5}"
		;;
	tcg)
		# Fewer rounds under pressure: each round lends the pool out and migrates it
		# back at emulated speed (30 rounds took 24 of a boot's 27 minutes). The aging
		# run: the tool's 100 000 operations too (20 000 took 16 to 25 s per allocator
		# on the 2026-12-02 build machine, 1 to 2 minutes on a busier one: a boot of
		# three allocators at 100 000 takes 6 to 30 minutes).
		aging_default=
		platform tcg arm64 "${CMABUF_TCG_BOOTS:-3}" cmabuf_pool=camera \
			'cmabuf_bench="--pressure-rounds 10"'
		;;
	*) die "CMABUF_BENCH_PLATFORMS: unknown platform $name (kvm or tcg)" ;;
	esac
done

only=() command="make bench"
case " $other_runs " in
*" cache-off "* | *" cache-on "*) ;;
*) only=(--scale-only) ;;
esac
[ -z "${CMABUF_BENCH_PLATFORMS:-}" ] || command="CMABUF_BENCH_PLATFORMS='$CMABUF_BENCH_PLATFORMS' $command"
[ -z "${CMABUF_BENCH_RUNS:-}" ] || command="CMABUF_BENCH_RUNS='$CMABUF_BENCH_RUNS' $command"
if [ -n "$other_runs" ]; then
	"$S/install-bench-tools.sh"
	PYTHONPATH=$CMABUF_CACHE/pylib python3 "$S/bench-report.py" "${only[@]}" \
		--out "$top/Documentation/benchmarks" --command "$command" "${report_args[@]}"
fi
if [ "$aging" = 1 ]; then
	[ -z "${CMABUF_AGING_BOOTS:-}" ] || command="CMABUF_AGING_BOOTS=$CMABUF_AGING_BOOTS $command"
	[ -z "${CMABUF_AGING_ARGS+set}" ] || command="CMABUF_AGING_ARGS='$CMABUF_AGING_ARGS' $command"
	python3 "$S/aging-report.py" --out "$top/Documentation/benchmarks" --command "$command" \
		"${aging_args[@]}"
fi
log "bench: done in $((SECONDS - start))s: Documentation/benchmarks/"
