#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Checks made on the host, printed as TAP for verdict.sh: formatting, a warning-free
# clippy build, no core 64-bit decimal formatting (it panics on 32-bit ARM), `unsafe`
# confined to rust/ffi, rust/ffi naming nothing above it, and generated bindings that
# match the kernel's headers, a documented sysfs ABI; then the device-tree binding
# and overlays (validate-dt.sh).
#
# usage: host-checks.sh <kernel source dir> <kernel build dir>
set -uo pipefail
. "$(dirname "$0")/env.sh"

ksrc=$1 kdir=$2
n=0
check() { # name, then the command; its output is shown as TAP diagnostics on failure
	local name=$1; shift
	local out
	n=$((n + 1))
	if out=$("$@" 2>&1); then
		echo "ok $n host.$name"
	else
		echo "not ok $n host.$name"
		printf '%s\n' "$out" | head -40 | sed 's/^/# /'
	fi
}

rustfmt_clean() {
	/usr/bin/rustfmt --edition 2021 --config-path "$ksrc/.rustfmt.toml" --check \
		"$CMABUF_TOP/rust/cmabuf.rs"
}
build_warning_free() {
	! grep -i -E -A8 'warning|error' "$CMABUF_BUILD/module-build.log"
}
no_64bit_decimal_formatting() {
	# On 32-bit ARM the core's decimal Display of u64/i64 calls the kernel's panicking
	# 64-bit division (rust/ffi/decimal.rs): the module must not refer to it, on any arch.
	local ko=$CMABUF_BUILD/module/cmabuf.ko
	[ -e "$ko" ] || { echo "$ko is missing"; return 1; }
	! "${CROSS_COMPILE}nm" -u -C "$ko" |
		grep -E '<(u64|i64|core::time::Duration) as (kernel|core)::fmt::(Display|Debug)>|__aeabi_(u?ldivmod)|__(u|)divdi3|__(u|)moddi3'
}
unsafe_only_in_ffi() {
	! (cd "$CMABUF_TOP" && grep -rn -w unsafe rust --include='*.rs' | grep -v -e '^rust/ffi' -e '^[^:]*:[0-9]*:[[:space:]]*//')
}
safety_comment_on_every_unsafe_block() {
	# The comment lines right above each `unsafe {` or `unsafe impl` must hold "SAFETY:",
	# in rust/ffi.rs and every file under rust/ffi/ but the generated bindings (sys/).
	(cd "$CMABUF_TOP" && find rust/ffi.rs rust/ffi -name '*.rs' -not -path 'rust/ffi/sys/*' \
		-exec awk '
		FNR == 1 { block = "" }
		/^[[:space:]]*\/\// { block = block $0; next }
		/unsafe[[:space:]]*(\{|impl)/ && block !~ /SAFETY:/ { print FILENAME ":" FNR ": " $0; bad = 1 }
		{ block = "" }
		END { exit bad }' {} +)
}

ffi_is_the_floor() {
	# rust/ffi is the floor: every arrow points down into it, none out. It names no module
	# of cmabuf's domain (allocator, buffer, heap, uapi, ...): it is generic over small
	# traits of its own (as MiscRegistration<T: MiscFile>), and the domain implements
	# them. Every path out of ffi to the crate is listed; the allowed ones are:
	#  - crate::ffi, $crate::ffi: ffi itself (its macros expand in other modules), and
	#    crate::ffi_*: the macros ffi exports at the crate root (#[macro_export]);
	#  - crate::THIS_MODULE, crate::LocalModule, crate::module_parameters: what the
	#    `module!` macro generates in the crate root (ffi/compat.rs, the param! macro);
	#  - the one documented exception, crate::registry::Registry in ffi/global.rs: the
	#    module-wide lock is a static here, so it names the state it guards.
	# `super::` reaching above ffi (from ffi.rs, ffi/*.rs or ffi/*/*.rs) counts as well.
	local hits
	hits=$(cd "$CMABUF_TOP" && {
		grep -rnoE '(\$)?crate::(\{|[A-Za-z_][A-Za-z0-9_]*(::[A-Za-z_][A-Za-z0-9_]*)?)' \
			rust/ffi.rs rust/ffi --include='*.rs' |
			grep -vE ':(\$)?crate::(ffi|ffi_[a-z_]+|THIS_MODULE|LocalModule|module_parameters)\b' |
			grep -vE '^rust/ffi/global\.rs:[0-9]+:crate::registry::Registry$'
		grep -HnE '\bsuper::' rust/ffi.rs
		grep -HnE '\bsuper::super::' rust/ffi/*.rs
		find rust/ffi -mindepth 2 -name '*.rs' -not -path 'rust/ffi/sys/*' \
			-exec grep -HnE '\bsuper::super::super::' {} +
	})
	[ -z "$hits" ] || { printf '%s\n' "$hits"; return 1; }
}

uapi_header_is_c_and_cxx() {
	# The header must compile on its own as C and C++, with the layouts and values Rust
	# asserts (rust/uapi.rs; Rust takes them from the header through bindgen, so these
	# keep the ABI from moving with the header).
	local t
	t=$(mktemp -d)
	cat >"$t/uapi.c" <<'EOC'
#include <stddef.h>
#include <linux/cmabuf.h>
#ifdef __cplusplus
#define STATIC_ASSERT static_assert
#else
#define STATIC_ASSERT _Static_assert
#endif
STATIC_ASSERT(sizeof(struct cmabuf_alloc) == 64, "cmabuf_alloc");
STATIC_ASSERT(sizeof(struct cmabuf_pool_info) == 176, "cmabuf_pool_info");
STATIC_ASSERT(sizeof(struct cmabuf_phys) == 40, "cmabuf_phys");
STATIC_ASSERT(sizeof(struct cmabuf_prepare) == 32, "cmabuf_prepare");
STATIC_ASSERT(sizeof(struct cmabuf_query) == 96, "cmabuf_query");
STATIC_ASSERT(sizeof(struct cmabuf_reserve) == 72, "cmabuf_reserve");
STATIC_ASSERT(sizeof(struct cmabuf_reservation_status) == 88, "cmabuf_reservation_status");
STATIC_ASSERT(offsetof(struct cmabuf_alloc, align) == 8 &&
	      offsetof(struct cmabuf_alloc, flags) == 16 &&
	      offsetof(struct cmabuf_alloc, fd_flags) == 20 &&
	      offsetof(struct cmabuf_alloc, fd) == 24 &&
	      offsetof(struct cmabuf_alloc, id) == 28 &&
	      offsetof(struct cmabuf_alloc, client_pidfd) == 32 &&
	      offsetof(struct cmabuf_alloc, reserved0) == 36 &&
	      offsetof(struct cmabuf_alloc, reservation_fd) == 40 &&
	      offsetof(struct cmabuf_alloc, reserved) == 48, "cmabuf_alloc fields");
STATIC_ASSERT(offsetof(struct cmabuf_reserve, count) == 16 &&
	      offsetof(struct cmabuf_reserve, deadline_ms) == 20 &&
	      offsetof(struct cmabuf_reserve, expiry_ms) == 24 &&
	      offsetof(struct cmabuf_reserve, fd_flags) == 28 &&
	      offsetof(struct cmabuf_reserve, fd) == 32 &&
	      offsetof(struct cmabuf_reserve, reserved) == 40, "cmabuf_reserve fields");
STATIC_ASSERT(offsetof(struct cmabuf_reservation_status, left) == 20 &&
	      offsetof(struct cmabuf_reservation_status, bytes_evacuated) == 24 &&
	      offsetof(struct cmabuf_reservation_status, expires_in_ms) == 48 &&
	      offsetof(struct cmabuf_reservation_status, reserved) == 56,
	      "cmabuf_reservation_status fields");
STATIC_ASSERT(offsetof(struct cmabuf_pool_info, size) == 40 &&
	      offsetof(struct cmabuf_pool_info, max_process_buffers) == 104 &&
	      offsetof(struct cmabuf_pool_info, reserved) == 112, "cmabuf_pool_info fields");
STATIC_ASSERT(offsetof(struct cmabuf_phys, reserved0) == 4 &&
	      offsetof(struct cmabuf_phys, phys) == 8 &&
	      offsetof(struct cmabuf_phys, size) == 16 &&
	      offsetof(struct cmabuf_phys, reserved) == 24, "cmabuf_phys fields");
STATIC_ASSERT(offsetof(struct cmabuf_prepare, count) == 8 &&
	      offsetof(struct cmabuf_prepare, timeout_ms) == 12 &&
	      offsetof(struct cmabuf_prepare, reserved) == 16, "cmabuf_prepare fields");
STATIC_ASSERT(offsetof(struct cmabuf_query, count) == 16 &&
	      offsetof(struct cmabuf_query, fit) == 24 &&
	      offsetof(struct cmabuf_query, pages_to_move) == 32 &&
	      offsetof(struct cmabuf_query, blocked_runs) == 40 &&
	      offsetof(struct cmabuf_query, blocking_pages) == 48 &&
	      offsetof(struct cmabuf_query, stop_errno) == 56 &&
	      offsetof(struct cmabuf_query, reserved) == 64, "cmabuf_query fields");
STATIC_ASSERT(CMABUF_IOC_MAGIC == 'J' && CMABUF_CACHED == 0 && CMABUF_WRITECOMBINE == 1 &&
	      CMABUF_UNCACHED == 2 && CMABUF_CACHE_MASK == 3 &&
	      CMABUF_ALLOC_FOR_CLIENT == 4 &&
	      CMABUF_ALLOC_FROM_RESERVATION == 0x100 &&
	      CMABUF_ALLOC_FLAGS == (CMABUF_CACHE_MASK | CMABUF_ALLOC_FROM_RESERVATION |
				     CMABUF_ALLOC_FOR_CLIENT) &&
	      CMABUF_NAME_LEN == 40 && CMABUF_RESERVATION_EVACUATING == 0 &&
	      CMABUF_RESERVATION_READY == 1 && CMABUF_RESERVATION_FAILED == 2 &&
	      CMABUF_RESERVATION_SPENT == 3 &&
	      CMABUF_PREPARE_MAX_COUNT == 1024 && CMABUF_QUERY_MAX_COUNT == 4096 &&
	      CMABUF_QUERY_BYTES_ONLY == 1, "cmabuf values");
STATIC_ASSERT(CMABUF_IOC_ALLOC == _IOWR('J', 0x00, struct cmabuf_alloc) &&
	      CMABUF_IOC_POOL_INFO == _IOR('J', 0x01, struct cmabuf_pool_info) &&
	      CMABUF_IOC_PHYS == _IOWR('J', 0x02, struct cmabuf_phys) &&
	      CMABUF_IOC_PREPARE == _IOW('J', 0x03, struct cmabuf_prepare) &&
	      CMABUF_IOC_QUERY == _IOWR('J', 0x04, struct cmabuf_query) &&
	      CMABUF_IOC_RESERVE == _IOWR('J', 0x05, struct cmabuf_reserve) &&
	      CMABUF_RESERVATION_IOC_STATUS ==
		      _IOR('J', 0x40, struct cmabuf_reservation_status), "cmabuf ioctls");
int main(void) { return CMABUF_IOC_ALLOC != 0 ? 0 : 1; }
EOC
	gcc -Wall -Werror -I"$CMABUF_TOP/include/uapi" -I"$kdir/usr/include" -fsyntax-only "$t/uapi.c" &&
		g++ -Wall -Werror -I"$CMABUF_TOP/include/uapi" -I"$kdir/usr/include" -fsyntax-only \
			-x c++ "$t/uapi.c"
	local rc=$?
	rm -rf "$t"
	return $rc
}

docs_rst_parses() {
	# Documentation/*.rst parses without a docutils warning, every internal link
	# resolves and every literalinclude'd file exists.
	PYTHONPATH=$CMABUF_CACHE/docutils${PYTHONPATH:+:$PYTHONPATH} \
		python3 "$CMABUF_TOP/scripts/check-rst.py" "$CMABUF_TOP"/Documentation/*.rst
}
sysfs_abi_documented() {
	# The pools' sysfs files are ABI: every file rust/ffi/sysfs_attrs.c creates has a
	# What: in Documentation/ABI/testing/sysfs-driver-cmabuf and is in sysfs_test's list,
	# and neither names a file the module lacks; the kernel's ABI parser accepts the file.
	local abi=$CMABUF_TOP/Documentation/ABI/testing/sysfs-driver-cmabuf
	local created documented tested
	created=$(sed -nE 's/^CMABUF_ATTR\([a-z_]+, ([a-z_]+), CMABUF_ATTR_(FAILURES_)?.*/\2\1/p' \
		"$CMABUF_TOP/rust/ffi/sysfs_attrs.c" | sed -E 's|^FAILURES_(.*)|failures/\1|' | sort)
	documented=$(sed -nE 's|^What:[[:space:]]+/sys/class/misc/cmabuf-<pool>/(.*)$|\1|p' "$abi" | sort)
	tested=$(sed -nE 's|^[[:space:]]*\{ "([a-z_/]+)", "[a-z_]+" \},$|\1|p' \
		"$CMABUF_TOP/selftests/sysfs_test.c" | sort)
	[ -n "$created" ] || { echo "no CMABUF_ATTR( in rust/ffi/sysfs_attrs.c"; return 1; }
	diff -u --label created <(echo "$created") --label documented <(echo "$documented") &&
		diff -u --label created <(echo "$created") --label sysfs_test <(echo "$tested") &&
		python3 "$ksrc/tools/docs/get_abi.py" -D "$CMABUF_TOP/Documentation/ABI" validate
}
bindings_match_kernel_headers() {
	"$CMABUF_TOP/scripts/gen-bindings.sh" "$kdir" "$CMABUF_BUILD/generated.rs" &&
		diff -u "$CMABUF_TOP/rust/ffi/sys/generated.rs" "$CMABUF_BUILD/generated.rs"
}

check rustfmt_clean rustfmt_clean
check clippy_build_warning_free build_warning_free
check no_64bit_decimal_formatting no_64bit_decimal_formatting
check unsafe_only_in_ffi unsafe_only_in_ffi
check safety_comment_on_every_unsafe_block safety_comment_on_every_unsafe_block
check ffi_is_the_floor ffi_is_the_floor
check bindings_match_kernel_headers bindings_match_kernel_headers
check uapi_header_is_c_and_cxx uapi_header_is_c_and_cxx
check docs_rst_parses docs_rst_parses
check sysfs_abi_documented sysfs_abi_documented
# The device-tree checks merge overlays onto the virt board's DTB: a board without a
# device tree (x86_64) has none to merge onto, and the checks do not depend on the
# architecture (arm64's host checks run them).
if has_dt; then
	"$CMABUF_TOP/scripts/validate-dt.sh" $((n + 1))
fi
