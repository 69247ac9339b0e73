#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The two jobs behind `make run` and `make check`: install what is missing, build (all
# cached), boot the QEMU virt board with cmabuf's pools, and show or test cmabuf.
#
# usage: job.sh run|check|scale|bench  (KDIR=<prepared kernel build> to skip the kernel build)
#        job.sh check|scale|bench --results <file>
# check prints the verdict (scripts/verdict.sh) of its results; with --results it writes
# instead where they are, one a line, for scripts/check.sh to count several
# architectures together: host=<host checks' TAP>, then <kernel>=<guest console log>
# per kernel run (the arguments verdict.sh takes). bench makes the report of its boots;
# with --results it writes their console logs there, for scripts/bench.sh. Its aging run
# (CMABUF_BENCH_RUNS=aging, alone) adds the aging pool to the board (arm64).
# scale is check on the scale board (CMABUF_BOARD=scale in env.sh: more RAM, the pools
# of SCALE_OVERLAYS below) with the scale list (selftests/Makefile SCALE_LIST) and no
# host checks; scripts/scale.sh (make scale) runs it per architecture.
set -euo pipefail
[ "${1:-}" != scale ] || export CMABUF_BOARD=scale
. "$(dirname "$0")/env.sh"
S=$CMABUF_TOP/scripts
usage="usage: job.sh run|check|scale|bench, or job.sh check|scale|bench --results <file>"
job=${1:?$usage}
results=
if [ $# -gt 1 ]; then
	[ "$job" != run ] && [ "${2:-}" = --results ] && [ -n "${3:-}" ] && [ $# = 3 ] || die "$usage"
	results=$3
fi
start=$SECONDS
mkdir -p "$CMABUF_BUILD"

"$S/install-toolchain.sh"
# x86_64 guests run under KVM or not at all: TCG would be many times slower and every
# timing meaningless, so say so instead of falling back.
if [ "$ARCH" = x86_64 ] && [ "${CMABUF_X86_TCG:-0}" = 1 ]; then
	log "WARNING: CMABUF_X86_TCG=1: the x86_64 guest runs under TCG emulation, not KVM (development only; timings mean nothing)"
elif [ "$ARCH" = x86_64 ] && ! why=$(kvm_usable 2>&1); then
	die "ARCH=x86_64 needs KVM, which is not usable here: $why"
fi
if [ -n "${KDIR:-}" ]; then
	KDIR_GIVEN=1
else
	KDIR=$("$S/build-kernel.sh" "$("$S/fetch-kernel.sh")")
fi
[ -e "$KDIR/$KIMAGE" ] || die "KDIR=$KDIR has no $KIMAGE: build the kernel there first"
KSRC=$KDIR; [ -e "$KDIR/source" ] && KSRC=$(readlink -f "$KDIR/source")
log "kernel: $KDIR"

ko=$("$S/build-module.sh" "$KDIR")
busybox=$("$S/fetch-busybox.sh")
headers=$KDIR/usr/include
if [ ! -d "$headers" ]; then
	kmake_for "$KDIR" -s headers_install INSTALL_HDR_PATH="$CMABUF_BUILD/headers"
	headers=$CMABUF_BUILD/headers/include
fi
# Builds the tests and tools, and lays out what the guest gets in build/selftests/install
# (selftests/Makefile: the one list of tests, the ARCH-only ones).
make -s -C "$CMABUF_TOP/selftests" ARCH="$ARCH" CROSS_COMPILE="$CROSS_COMPILE" KHDR="$headers" \
	KSELFTEST="$KSRC/tools/testing/selftests" OUTPUT="$CMABUF_BUILD/selftests" all install

case $job in
run)
	dtb=
	if has_dt; then
		dtb=$CMABUF_BUILD/board.dtb
		"$S/make-dtb.sh" "$dtb" "$CMABUF_TOP/dts/pools.dtso" "$CMABUF_TOP/dts/cmabuf-pools.dtso"
	fi
	"$S/make-initramfs.sh" "$CMABUF_BUILD/run.cpio.gz" "$ko" "$busybox" "$CMABUF_BUILD/selftests"
	log "booting $QEMU ${QEMU_MACHINE[*]} with cmabuf's pools"
	CMABUF_SHOW_CONSOLE=1 "$S/run-qemu.sh" "$KDIR/$KIMAGE" \
		"$CMABUF_BUILD/run.cpio.gz" "$dtb" "$CMABUF_BUILD/run.log" run 300
	log "done in $((SECONDS - start))s; console in ${CMABUF_BUILD#"$CMABUF_TOP"/}/run.log"
	if has_dt; then
		want=$(grep -c 'compatible = "cmabuf,pool"' "$CMABUF_TOP/dts/cmabuf-pools.dtso")
		grep -q "^cmabuf-run: bound $want pools" "$CMABUF_BUILD/run.log" ||
			die "cmabuf did not bind all $want pools of the board (see build/run.log)"
	else
		# No device tree: the one pool is the default CMA area (default_pool=).
		grep -q "^cmabuf-run: serves /dev/cmabuf-default$" "$CMABUF_BUILD/run.log" ||
			die "cmabuf does not serve the default CMA area as /dev/cmabuf-default (see $CMABUF_BUILD/run.log)"
	fi
	grep -q "^cmabuf-demo: ok" "$CMABUF_BUILD/run.log" ||
		die "allocating, mapping or freeing a buffer failed (see build/run.log)"
	grep -q "^cmabuf-example: ok" "$CMABUF_BUILD/run.log" ||
		die "the admin guide's example failed (see build/run.log)"
	grep -q "^cmabuf-pipeline: ok" "$CMABUF_BUILD/run.log" ||
		die "the camera -> display pipeline (vivid -> vkms) failed (see build/run.log)"
	;;
bench)
	# CMABUF_BENCH_BOOTS boots of the benchmark guest (scripts/guest/bench.sh), each
	# console kept as build/.../bench/boot-<n>.log; with --results, their paths are
	# written there for scripts/bench.sh, which makes the report of every platform.
	boots=${CMABUF_BENCH_BOOTS:-3}
	# CMABUF_BENCH_RUNS: which runs each boot makes (scripts/guest/bench.sh), of
	# "scale cache-off cache-on" (all by default); "scale" alone for the cost per live
	# buffer only; "aging" (cmabuf_aging_bench, alone: its boots have a pool of their own).
	runs=${CMABUF_BENCH_RUNS:-scale cache-off cache-on}
	heap_runs=0 scale_runs=0 aging_runs=0 guest_runs=
	for run in $runs; do
		guest_runs+=${guest_runs:+,}$run
		case $run in
		scale) scale_runs=1 ;;
		cache-off | cache-on) heap_runs=$((heap_runs + 1)) ;;
		aging) aging_runs=1 ;;
		*) die "CMABUF_BENCH_RUNS: unknown run $run (scale, cache-off, cache-on or aging)" ;;
		esac
	done
	[ "$aging_runs" = 0 ] || [ "$runs" = aging ] ||
		die "CMABUF_BENCH_RUNS: aging runs in boots of its own (its 256 MiB pool would change the other runs' board): CMABUF_BENCH_RUNS=aging"
	dtb= aging_args=
	if has_dt; then
		dtb=$CMABUF_BUILD/board.dtb
		overlays=("$CMABUF_TOP/dts/pools.dtso" "$CMABUF_TOP/dts/cmabuf-pools.dtso")
		# The aging run's pool: 256 MiB, room for seven 4K RGBA frames (dts/aging-pool.dtso).
		if [ "$aging_runs" = 1 ]; then
			overlays+=("$CMABUF_TOP/dts/aging-pool.dtso")
			aging_args=cmabuf_aging_pool=aging
		fi
		"$S/make-dtb.sh" "$dtb" "${overlays[@]}"
	fi
	"$S/make-bench-disk.sh" "$CMABUF_BUILD/bench-disk.img"
	"$S/make-initramfs.sh" "$CMABUF_BUILD/bench.cpio.gz" "$ko" "$busybox" "$CMABUF_BUILD/selftests"
	logs=()
	rm -rf "$CMABUF_BUILD/bench"
	for boot in $(seq 1 "$boots"); do
		log "benchmark boot $boot of $boots: $QEMU ${QEMU_MACHINE[*]}, cmabuf against the CMA heap"
		blog=$CMABUF_BUILD/bench/boot-$boot.log
		# CMABUF_BENCH_GUEST_ARGS: what scripts/guest/bench.sh reads (cmabuf_pool=, ...).
		# cmabuf_boot: the boot's number, the aging run's seed.
		CMABUF_KERNEL_ARGS="${CMABUF_BENCH_GUEST_ARGS:-} cmabuf_runs=$guest_runs cmabuf_boot=$boot${aging_args:+ $aging_args}" \
			"$S/run-qemu.sh" "$KDIR/$KIMAGE" "$CMABUF_BUILD/bench.cpio.gz" "$dtb" "$blog" bench 3600 \
			"$CMABUF_BUILD/bench-disk.img" || log "QEMU exited with status $?"
		# Each run ends in "done": cmabuf_bench's per config, cmabuf_scale_bench's,
		# cmabuf_aging_bench's two (without and with the small-buffer arena).
		[ "$(grep -c '^cmabuf-bench: {"done": true' "$blog")" = "$heap_runs" ] &&
			[ "$(grep -c '^cmabuf-scale: {"done": true' "$blog")" = "$scale_runs" ] &&
			[ "$(grep -c '^cmabuf-aging: {"done": true' "$blog")" = "$((aging_runs * 2))" ] ||
			die "benchmark boot $boot did not finish its runs ($runs; see $blog)"
		logs+=("$blog")
	done
	if [ -n "$results" ]; then
		printf '%s\n' "machine=${QEMU_MACHINE[*]}" "${logs[@]}" >"$results"
	else
		platform=tcg
		[ "$ARCH" != x86_64 ] || platform=kvm
		"$S/install-bench-tools.sh"
		if [ "$aging_runs" = 1 ]; then
			python3 "$S/aging-report.py" --out "$CMABUF_TOP/Documentation/benchmarks" \
				--command "CMABUF_BENCH_RUNS=aging ARCH=$ARCH job.sh bench" \
				--platform "$platform" "${QEMU_MACHINE[*]}" "${logs[@]}"
			log "done in $((SECONDS - start))s"
			exit 0
		fi
		only=()
		[ "$heap_runs" != 0 ] || only=(--scale-only)
		PYTHONPATH=$CMABUF_CACHE/pylib python3 "$S/bench-report.py" "${only[@]}" \
			--out "$CMABUF_TOP/Documentation/benchmarks" \
			--command "CMABUF_BENCH_RUNS='$runs' ARCH=$ARCH job.sh bench" \
			--platform "$platform" "${QEMU_MACHINE[*]}" "${logs[@]}"
	fi
	log "done in $((SECONDS - start))s"
	;;
check | scale)
	# The scale job: the board's pools and what the guest runs (its list, its time).
	if [ "$job" = scale ]; then
		has_dt || die "ARCH=$ARCH: the scale board needs a device tree"
		case $ARCH in
		# A 4.5 GiB pool above 4 GiB physical (dts/big-pool.dtso), /dev/cmabuf-big.
		arm64) SCALE_OVERLAYS=("$CMABUF_TOP/dts/big-pool.dtso") ;;
		*) die "ARCH=$ARCH has no scale overlays" ;;
		esac
		# No host checks (make check runs them, the scale overlay's among them).
		: >"$CMABUF_BUILD/host.tap"
	else
		"$S/host-checks.sh" "$KSRC" "$KDIR" >"$CMABUF_BUILD/host.tap"
	fi
	# x86_64 has no device tree: no test board, no run-time overlays; its test list is
	# the smoke subset that needs none (selftests/Makefile).
	dtb=
	if [ "$job" = scale ]; then
		dtb=$CMABUF_BUILD/scale.dtb
		"$S/make-dtb.sh" "$dtb" "$CMABUF_TOP"/dts/{pools,cmabuf-pools}.dtso "${SCALE_OVERLAYS[@]}"
	elif has_dt; then
		dtb=$CMABUF_BUILD/test.dtb
		overlays=("$CMABUF_TOP"/dts/{pools,cmabuf-pools,test-regions,test-consumers}.dtso)
		# 32-bit ARM: also a pool in HighMem.
		[ "$ARCH" != arm ] || overlays+=("$CMABUF_TOP/dts/highmem-pool.dtso")
		"$S/make-dtb.sh" "$dtb" "${overlays[@]}"
		# Overlays the tests apply at run time (dts/runtime-*.dtso), for /selftests.
		for src in "$CMABUF_TOP"/dts/runtime-*.dtso; do
			dtc -q -@ -I dts -O dtb -o "$CMABUF_BUILD/selftests/$(basename "$src" .dtso).dtbo" "$src" ||
				die "dtc failed on $src"
		done
	fi
	"$S/make-test-disk.sh" "$CMABUF_BUILD/disk.img"
	runs=()
	# One guest run per kernel: the plain one (KDIR), and unless KDIR was given:
	#  - debug, unless CMABUF_DEBUG_KERNEL=0: lockdep, KFENCE, kmemleak, ...;
	#  - kasan, with CMABUF_KASAN=1 (make matrix; arm64 only): generic KASAN, built
	#    with clang (Rust with KASAN needs it);
	#  - kcsan, with CMABUF_KCSAN=1 (arm64 only): the data-race detector, clang too;
	#  - builtin, with CMABUF_BUILTIN=1 (arm64 only; make check sets it): cmabuf built
	#    into the kernel (CONFIG_CMABUF=y, build-builtin-kernel.sh), its smoke list.
	#  - lpae, only when named in CMABUF_KERNELS (ARCH=arm only): a 32-bit kernel with
	#    LPAE on a board with RAM and a 2 GiB pool above 4 GiB physical (env.sh's
	#    CMABUF_LPAE board, dts/lpae-pool.dtso), its own list (selftests/Makefile).
	# CMABUF_KERNELS="kasan" (names from base debug kasan kcsan builtin lpae) runs just those.
	want=${CMABUF_KERNELS:-base}
	if [ -z "${CMABUF_KERNELS:-}" ] && [ -z "${KDIR_GIVEN:-}" ]; then
		[ "${CMABUF_DEBUG_KERNEL:-1}" != 1 ] || want+=" debug"
		[ "${CMABUF_BUILTIN:-0}" != 1 ] || want+=" builtin"
		[ "${CMABUF_KASAN:-0}" != 1 ] || want+=" kasan"
		[ "${CMABUF_KCSAN:-0}" != 1 ] || want+=" kcsan"
	fi
	kernels=()
	for name in $want; do
		case $name in
		base) kernels+=("base=$KDIR") ;;
		debug) kernels+=("debug=$("$S/build-kernel.sh" "$KSRC" "$CMABUF_TOP"/scripts/kconfig/{base,debug}.config)") ;;
		kasan | kcsan)
			if [ "$ARCH" != arm64 ]; then
				log "the $name kernel is built for arm64 only: skipped on $ARCH"
				continue
			fi
			kernels+=("$name=$(CMABUF_LLVM=$CMABUF_SANITIZER_LLVM "$S/build-kernel.sh" "$KSRC" \
				"$CMABUF_TOP"/scripts/kconfig/{base,"$name"}.config)")
			;;
		builtin)
			if [ "$job" = scale ]; then
				log "the scale list runs on module kernels: the builtin kernel is skipped"
				continue
			fi
			if [ "$ARCH" != arm64 ]; then
				log "the builtin kernel is built for arm64 only: skipped on $ARCH"
				continue
			fi
			kernels+=("builtin=$("$S/build-builtin-kernel.sh" "$KSRC")")
			;;
		lpae)
			if [ "$ARCH" != arm ]; then
				log "the lpae kernel is built for 32-bit ARM (ARCH=arm) only: skipped on $ARCH"
				continue
			fi
			kernels+=("lpae=$("$S/build-kernel.sh" "$KSRC" "$CMABUF_TOP"/scripts/kconfig/{base,lpae}.config)")
			;;
		*) die "CMABUF_KERNELS: unknown kernel $name (base, debug, kasan, kcsan, builtin or lpae)" ;;
		esac
	done
	for entry in "${kernels[@]}"; do
		name=${entry%%=*} kdir=${entry#*=}
		# The KASAN and KCSAN guests took 8 to 9 min for the whole suite (2026-12-01),
		# like the plain one; every KASAN report is printed, not just the first.
		limit=2400 kargs= board=$dtb lpae=0
		case $name in
		kasan) kargs=kasan_multi_shot ;;
		# The benchmarks' smoke runs keep the tools from rotting; the plain kernels run
		# them. Under the debug kernel they took over 2 min of TCG (2026-12-02) and
		# exercise nothing the tests do not.
		# CMABUF_DEBUG_LIST (check.sh: armdebug on 32-bit ARM) runs that list instead
		# of the whole one (selftests/Makefile).
		debug) kargs="cmabuf_smoke=off${CMABUF_DEBUG_LIST:+ cmabuf_list=$CMABUF_DEBUG_LIST}" ;;
		# cmabuf is in the kernel: no cmabuf.ko, and the tests that do not reload it.
		builtin) kargs=cmabuf_list=builtin ;;
		# Its own board (RAM above 4 GiB) with the pool above 4 GiB, and its own list.
		lpae)
			kargs=cmabuf_list=lpae lpae=1 board=$CMABUF_BUILD/test-lpae.dtb
			CMABUF_LPAE=1 "$S/make-dtb.sh" "$board" "${overlays[@]}" "$CMABUF_TOP/dts/lpae-pool.dtso"
			;;
		esac
		# The scale list (tests-scale.list); its guest log is scale-<kernel>.log.
		[ "$job" != scale ] || limit=${CMABUF_SCALE_LIMIT:-3600} kargs+=" cmabuf_list=scale"
		out=$CMABUF_BUILD/$name
		mkdir -p "$out"
		kmod=$ko
		if [ "$name" = builtin ]; then
			kmod=
		elif [ "$kdir" != "$KDIR" ]; then
			kmod=$("$S/build-module.sh" "$kdir" "$out/module")
		fi
		mapfile -t test_modules < <("$S/build-test-modules.sh" "$kdir" "$out")
		"$S/make-initramfs.sh" "$out/check.cpio.gz" "$kmod" "$busybox" "$CMABUF_BUILD/selftests" \
			"${test_modules[@]}"
		machine="$QEMU ${QEMU_MACHINE[*]}"
		[ "$lpae" = 0 ] || machine="the LPAE machine of env.sh"
		log "booting the $job board ($machine) on the $name kernel"
		glog=$CMABUF_BUILD/$job-$name.log
		booted=$SECONDS
		CMABUF_LPAE=$lpae CMABUF_KERNEL_ARGS=${kargs# } "$S/run-qemu.sh" "$kdir/$KIMAGE" "$out/check.cpio.gz" \
			"$board" "$glog" check "$limit" "$CMABUF_BUILD/disk.img" ||
			log "QEMU exited with status $?"
		log "$name kernel: guest finished after $((SECONDS - start))s (this boot $((SECONDS - booted))s); console in ${glog#"$CMABUF_TOP"/}"
		# Where the boot's time went: its slowest test commands (run_tests.sh times each).
		slowest=$(sed -n 's/^# cmabuf selftest: \(.*\) exit [0-9]* after \([0-9]*\) s\r\{0,1\}$/\2 s \1/p' "$glog" |
			sort -rn | head -5 | paste -sd ';' -) || true
		[ -z "$slowest" ] || log "$name kernel: slowest tests: ${slowest//;/, }"
		runs+=("$name=$glog")
	done
	if [ -n "$results" ]; then
		printf '%s\n' "host=$CMABUF_BUILD/host.tap" "${runs[@]}" >"$results"
	else
		"$S/verdict.sh" "$CMABUF_BUILD/host.tap" "${runs[@]}"
	fi
	;;
*) die "unknown job $job" ;;
esac
