# SPDX-License-Identifier: GPL-2.0
# Shared settings for cmabuf's scripts. Sourced, never run.
#
# Everything downloaded or built outside the clone lives under $CMABUF_CACHE so a
# fresh clone (as CI makes) reuses it.

CMABUF_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CMABUF_CACHE=${CMABUF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cmabuf}
# Kernel series to test against (KVER= or KERNEL_SERIES=); fetch-kernel.sh falls back
# when a suite drops it.
KERNEL_SERIES=${KERNEL_SERIES:-${KVER:-7.2}}

ARCH=${ARCH:-arm64}
case $ARCH in
arm64)
	CROSS_COMPILE=${CROSS_COMPILE:-aarch64-linux-gnu-}
	DEB_ARCH=${DEB_ARCH:-arm64}
	KIMAGE=arch/arm64/boot/Image
	;;
arm)
	# ARMv7 with HighMem (scripts/kconfig/arm.config).
	CROSS_COMPILE=${CROSS_COMPILE:-arm-linux-gnueabihf-}
	DEB_ARCH=${DEB_ARCH:-armhf}
	KIMAGE=arch/arm/boot/zImage
	# Its own build folder: objects and selftests differ from arm64's.
	CMABUF_BUILD=${CMABUF_BUILD:-$CMABUF_TOP/build/arm}
	;;
x86_64)
	# A PC (QEMU q35) under KVM: the host's own gcc, no device tree (pools come from
	# the default CMA area, cma= on the command line, and default_pool=).
	CROSS_COMPILE=${CROSS_COMPILE:-}
	DEB_ARCH=${DEB_ARCH:-amd64}
	KIMAGE=arch/x86/boot/bzImage
	CMABUF_BUILD=${CMABUF_BUILD:-$CMABUF_TOP/build/x86_64}
	;;
*)
	printf '[cmabuf] error: ARCH=%s: only arm64, arm and x86_64 are supported\n' "$ARCH" >&2
	exit 1
	;;
esac
CMABUF_BUILD=${CMABUF_BUILD:-$CMABUF_TOP/build}

# The rustup rustc on PATH is too old for the kernel: use Debian's rustc-web.
RUSTC=${RUSTC:-/usr/bin/rustc}
RUSTDOC=${RUSTDOC:-/usr/bin/rustdoc}
BINDGEN=${BINDGEN:-$CMABUF_CACHE/cargo/bin/bindgen}
LIBCLANG_PATH=${LIBCLANG_PATH:-$CMABUF_CACHE/libclang/clang/native}
export LIBCLANG_PATH

# Make variables every kernel or module build needs.
KMAKE_VARS=(ARCH="$ARCH" CROSS_COMPILE="$CROSS_COMPILE" RUSTC="$RUSTC"
	RUSTDOC="$RUSTDOC" BINDGEN="$BINDGEN" HOSTRUSTC="$RUSTC"
	CLIPPY_DRIVER=/usr/bin/clippy-driver RUSTFMT=/usr/bin/rustfmt)

# A kernel built with LLVM (clang, ld.lld, llvm-ar ...) instead of GCC: CMABUF_LLVM is
# the kernel's LLVM= value, e.g. -19 for Debian's clang-19 (the KASAN and KCSAN kernels:
# Rust with KASAN needs clang). build-kernel.sh records it in the build as cmabuf.llvm,
# and kmake_for builds modules and headers against a build with the same toolchain.
CMABUF_LLVM=${CMABUF_LLVM:-}
# The LLVM of the sanitizer kernels (KASAN, KCSAN): Debian's clang-19, lld-19, llvm-19.
CMABUF_SANITIZER_LLVM=${CMABUF_SANITIZER_LLVM:--19}
kdir_llvm() { cat "$1/cmabuf.llvm" 2>/dev/null || true; }
# usage: kmake_for <KDIR> [make arguments]: make -C KDIR with its toolchain.
kmake_for() {
	local kdir=$1 llvm
	shift
	llvm=$(kdir_llvm "$kdir")
	make -C "$kdir" "${KMAKE_VARS[@]}" ${llvm:+LLVM="$llvm"} "$@"
}

log() { printf '[cmabuf] %s\n' "$*" >&2; }
die() { printf '[cmabuf] error: %s\n' "$*" >&2; exit 1; }

# The default board: QEMU virt, as the DTB is dumped and as it boots. On 32-bit ARM,
# highmem=off keeps all RAM below 4 GiB and 1 GiB gives a HighMem zone of ~256 MiB.
if [ "$ARCH" = arm ]; then
	QEMU=${QEMU:-qemu-system-arm}
	QEMU_MACHINE=(-M virt,highmem=off -cpu cortex-a15 -smp 2 -m 1G -nic none)
	# The lpae kernel's board (job.sh sets CMABUF_LPAE=1 for its DTB and boot): RAM
	# above 4 GiB, which QEMU gives a 32-bit CPU with LPAE (the Cortex-A15) only with
	# highmem=on. 6 GiB from 0x4000_0000 ends at 0x1_c000_0000, leaving 3 GiB above
	# 4 GiB, 2 GiB of it for dts/lpae-pool.dtso.
	if [ "${CMABUF_LPAE:-0}" = 1 ]; then
		QEMU_MACHINE=(-M virt,highmem=on -cpu cortex-a15 -smp 2 -m 6G -nic none)
	fi
elif [ "$ARCH" = x86_64 ]; then
	# KVM only, never TCG: a silent fallback would make every timing meaningless and
	# the runs many times slower (jobs check kvm_usable first and say so).
	# -arch-capabilities: QEMU 7.2 (bookworm) hands the guest IA32_ARCH_CAPABILITIES
	# with -cpu host and aborts when KVM refuses to set it (seen on a nested AMD EPYC
	# host: "failed to set MSR 0x10a"); the guest only loses a hint for mitigations.
	QEMU=${QEMU:-qemu-system-x86_64}
	QEMU_MACHINE=(-M q35 -enable-kvm -cpu host,-arch-capabilities -smp 2 -m 2G -nic none)
	# Development only, never in make check: CMABUF_X86_TCG=1 runs the same PC under
	# TCG where KVM is not usable, to try the scripts and tests (job.sh says so loudly).
	if [ "${CMABUF_X86_TCG:-0}" = 1 ]; then
		QEMU_MACHINE=(-M q35 -accel tcg -cpu max -smp 2 -m 2G -nic none)
	fi
else
	QEMU=${QEMU:-qemu-system-aarch64}
	QEMU_MACHINE=(-M virt -cpu cortex-a53 -smp 2 -m 1G -nic none)
fi
# The scale board (make scale: scripts/scale.sh sets CMABUF_BOARD=scale for job.sh scale):
# enough RAM for a pool of more than 4 GiB above the 4 GiB physical boundary. One entry per
# architecture it runs on; the pools themselves are job.sh's scale overlays.
if [ "${CMABUF_BOARD:-}" = scale ]; then
	case $ARCH in
	# RAM at 0x4000_0000..0x2_4000_0000; the pool at 0x1_0000_0000 (dts/big-pool.dtso).
	arm64) QEMU_MACHINE=(-M virt -cpu cortex-a53 -smp 2 -m 8G -nic none) ;;
	*) die "ARCH=$ARCH has no scale board (CMABUF_BOARD=scale)" ;;
	esac
fi

# Whether the architecture's board has a device tree (pools in reserved-memory, the
# make-dtb.sh overlays, the DT-only tests). x86_64 has none: its pools come from the
# default CMA area, sized on the kernel command line.
has_dt() { [ "$ARCH" != x86_64 ]; }

# x86_64: the default CMA area the guest reserves at boot (the kernel's cma=), and the
# part of it cmabuf serves as /dev/cmabuf-default (its default_pool=, in bytes). The
# rest stays for the kernel's own CMA heap on that area, the peer the tests and the
# benchmark compare against: /dev/dma_heap/default_cma_region, also registered under
# the area's own name as /dev/dma_heap/reserved (what cmabuf's debugfs calls region:).
CMABUF_X86_CMA=${CMABUF_X86_CMA:-512M}
CMABUF_X86_DEFAULT_POOL=${CMABUF_X86_DEFAULT_POOL:-268435456}
# The module parameters the guest's /init loads cmabuf with (run-qemu.sh passes them as
# cmabuf_params=): none on the device-tree boards, whose pools are the tree's.
if [ "$ARCH" = x86_64 ]; then
	CMABUF_MODULE_PARAMS=${CMABUF_MODULE_PARAMS-default_pool=$CMABUF_X86_DEFAULT_POOL}
fi

# Whether /dev/kvm can run a guest here: it exists, is readable and writable, and QEMU
# starts a KVM machine on it. Says why not on stderr. Never fall back to TCG instead.
kvm_usable() {
	if [ ! -e /dev/kvm ]; then
		echo "/dev/kvm does not exist (no KVM on this host, or nested virtualisation is off)" >&2
		return 1
	fi
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
		echo "/dev/kvm is not readable and writable by $(id -un) (add it to the kvm group)" >&2
		return 1
	fi
	# KVM proper needs the CPU's virtualization extensions. Without them /dev/kvm may
	# still exist, served by a software hypervisor module (kvm_pvm on the nested build
	# machine): QEMU starts on it, but an ordinary kernel crawls (no console output in
	# 3 minutes, where TCG boots in seconds).
	if ! grep -q -w -e vmx -e svm /proc/cpuinfo; then
		echo "the CPU has no hardware virtualization (no vmx or svm in /proc/cpuinfo); /dev/kvm is served by $(
			cd /sys/module && ls -d kvm_* 2>/dev/null | paste -sd, || echo 'an unknown module'
		), which cannot run an ordinary guest kernel at speed" >&2
		return 1
	fi
	command -v "$QEMU" >/dev/null || { echo "$QEMU is not installed" >&2; return 1; }
	# A stopped machine (-S) quit from its monitor: QEMU fails at start if KVM cannot be
	# used (e.g. "failed to initialize kvm"), and runs no guest code either way.
	local out
	if ! out=$(printf 'quit\n' | timeout 20 "$QEMU" "${QEMU_MACHINE[@]}" -display none \
		-nodefaults -S -monitor stdio 2>&1); then
		echo "$QEMU cannot start a KVM machine: $(printf '%s' "$out" | grep -v '^QEMU\|^(qemu)' | head -2)" >&2
		return 1
	fi
	return 0
}
