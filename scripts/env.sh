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
*)
	printf '[cmabuf] error: ARCH=%s: only arm64 and arm are supported\n' "$ARCH" >&2
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
else
	QEMU=${QEMU:-qemu-system-aarch64}
	QEMU_MACHINE=(-M virt -cpu cortex-a53 -smp 2 -m 1G -nic none)
fi
