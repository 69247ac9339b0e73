# SPDX-License-Identifier: GPL-2.0
#
# cmabuf: the two commands
#   make run     boot the QEMU virt board with cmabuf's pools and show it working
#   make check   build everything and run every test in the guest
#
# and the pieces:
#   make bench   cmabuf against the kernel's CMA heap, under KVM and TCG (Documentation/benchmarks.md)
#   make soak    make check with the reliability tests 10 times longer
#   make matrix  make check on Linux 7.2 and 7.3, debug kernels on arm64 and 32-bit ARM
#   make scale   a 4.5 GiB pool above 4 GiB and buffers past 4 GiB, plain and debug kernels
#   make module KDIR=<Rust-enabled kernel build> [ARCH=arm64 CROSS_COMPILE=...]
#   make toolchain | kernel | fmt | clean
#
# Kbuild (not this file) describes the module to the kernel's build system.

SHELL := /bin/bash
S := $(CURDIR)/scripts
export KDIR ARCH CROSS_COMPILE KVER

run:
	@$(S)/job.sh run

check:
	@$(S)/check.sh

# cmabuf against the kernel's CMA heap, same area, same boot, several boots on the x86_64
# KVM guest (hardware speed) and the arm64 TCG board: Documentation/benchmarks/
bench:
	@$(S)/bench.sh

# The reliability tests 10 times longer: make soak [CMABUF_SOAK=N]
soak:
	@CMABUF_SOAK=$${CMABUF_SOAK:-10} $(S)/job.sh check

# Every supported kernel series and architecture, debug kernels included (about an hour).
matrix:
	@$(S)/matrix.sh

# The scale list on the big boards (scripts/scale.sh; too long for make check).
scale:
	@$(S)/scale.sh

toolchain:
	@$(S)/install-toolchain.sh

kernel: toolchain
	@$(S)/build-kernel.sh "$$($(S)/fetch-kernel.sh)"

module:
	@kdir="$(KDIR)"; [ -n "$$kdir" ] || kdir=$$($(S)/build-kernel.sh "$$($(S)/fetch-kernel.sh)"); \
	$(S)/build-module.sh "$$kdir"

fmt:
	@src=$$($(S)/fetch-kernel.sh); /usr/bin/rustfmt --edition 2021 \
		--config-path "$$src/.rustfmt.toml" rust/cmabuf.rs

clean:
	rm -rf build

.PHONY: run check bench soak matrix scale toolchain kernel module fmt clean
