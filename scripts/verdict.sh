#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Count the results of `make check`: the host checks' TAP, and for each guest run its
# selftests' TAP plus two checks on the guest itself: it finished, and its kernel log
# has no BUG/WARNING/Oops/Call trace/kmemleak/UBSAN line (nor a kmemleak report), and
# no sanitizer report (KASAN, KFENCE, or KCSAN naming cmabuf), printed whole.
# Guest results are named <kernel>.<test>. Prints every result, what each failed guest
# test said, then "N passed, N failed, N skipped". Exits non-zero on any failure or if nothing ran.
# Another architecture's host checks come as <prefix>host=<TAP file> (e.g. arm.host=...)
# and are named <prefix><check>.
#
# usage: verdict.sh <host TAP file> [<prefix>host=<TAP file> | <kernel name>=<guest console log>]...
set -euo pipefail

host=$1; shift
pass=0 fail=0 skip=0
failed=()

record() { # "ok"/"not ok", name, [skip reason]
	if [ "$1" = ok ] && [ -n "${3:-}" ]; then
		skip=$((skip + 1)); echo "ok - $2 # SKIP $3"
	elif [ "$1" = ok ]; then
		pass=$((pass + 1)); echo "ok - $2"
	else
		fail=$((fail + 1)); failed+=("$2"); echo "not ok - $2"
	fi
}

# TAP lines of a file, up to the guest's kernel-log dump.
count_tap() { # file, name prefix
	local line status rest name reason
	while IFS= read -r line; do
		status=ok; [[ $line == "not ok"* ]] && status="not ok"
		rest=${line#"$status" }; rest=${rest#* }   # drop the number
		name=${rest%% # *}; reason=
		[[ $rest == *"# SKIP"* ]] && reason=${rest#*# SKIP}
		record "$status" "$2$name" "${reason# }"
	done < <(sed '/^----- cmabuf-dmesg-begin/,$d' "$1" | grep -E '^(not )?ok [0-9]+ ' || true)
}

# Sanitizer reports (KASAN, KCSAN, KFENCE) of a console log, each whole (its BUG: line
# to the closing ===== line) and followed by an empty line; from the guest's dmesg dump
# when there is one (the console shows errors twice).
sanitizer_reports() { # log
	if grep -q '^----- cmabuf-dmesg-begin' "$1"; then
		sed -n '/^----- cmabuf-dmesg-begin/,/^----- cmabuf-dmesg-end/p' "$1"
	else
		cat "$1"
	fi | awk '/BUG: (KASAN|KCSAN|KFENCE):/ { on = 1 }
		on { print }
		on && /^(\[ *[0-9.]+\] )?=+$/ { on = 0; print "" }'
}

# The log less every KCSAN report that names nothing of cmabuf: data races in the core
# kernel are noted, not counted (cmabuf cannot fix them).
drop_foreign_kcsan() { # log
	awk 'function flush() { if (buf ~ /cmabuf/) printf "%s", buf; buf = ""; on = 0 }
		/BUG: KCSAN:/ { on = 1 }
		on { buf = buf $0 "\n"; if (/^(\[ *[0-9.]+\] )?=+$/) flush(); next }
		{ print }
		END { if (on) flush() }' "$1"
}

count_tap "$host" ""
guests=()
for run in "$@"; do
	kernel=${run%%=*} log=${run#*=}
	if [[ $kernel == *host ]]; then
		count_tap "$log" "${kernel%host}"
		continue
	fi
	guests+=("$run")
	count_tap "$log" "$kernel."
	if grep -q '^cmabuf-guest: done' "$log"; then
		record ok "$kernel.guest.finished"
	else
		record "not ok" "$kernel.guest.finished"
		echo "# the guest did not finish: last console lines:"; tail -20 "$log" | sed 's/^/#   /'
	fi
	# Every KASAN and KFENCE report fails, and a KCSAN one when it names cmabuf (its
	# module, shim or functions); the others are listed only. Printed whole.
	reports=$(sanitizer_reports "$log")
	ours=$(printf '%s\n' "$reports" | awk -v RS= '/BUG: (KASAN|KFENCE):/ || /cmabuf/ { print; print "" }')
	foreign=$(printf '%s\n' "$reports" | awk -v RS= '/BUG: KCSAN:/ && !/cmabuf/ { print }' |
		grep -o 'BUG: KCSAN: .*' | sort | uniq -c || true)
	if [ -z "$ours" ]; then
		record ok "$kernel.guest.sanitizers_clean"
	else
		record "not ok" "$kernel.guest.sanitizers_clean"
		printf '%s\n' "$ours" | sed 's/^/#   /'
	fi
	[ -z "$foreign" ] || printf '%s\n' "$foreign" | sed "s/^ */# $kernel: not cmabuf's, noted only: /"
	# kmemleak's own start-up lines are not findings; everything else it says is.
	# Nor is lifecycle_test's list of growing slab caches, which may name kmemleak_object,
	# nor cmabuf_scale_bench's JSON records of slab caches (the debug kernel's too).
	bad=$(drop_foreign_kcsan "$log" | grep -n -E 'BUG:|WARNING:|Oops|Call trace|kmemleak|UBSAN|unreferenced object' |
		grep -v -E 'kmemleak: (Kernel memory leak detector initialized|Automatic memory scanning thread started)' |
		grep -v -E '^[0-9]+:# reload window [0-9]+ \([0-9]+ ms\): slab pages grew most in' |
		grep -v -E '^[0-9]+:cmabuf-scale: \{' || true)
	if [ -z "$bad" ]; then
		record ok "$kernel.guest.kernel_log_clean"
	else
		record "not ok" "$kernel.guest.kernel_log_clean"
		printf '%s\n' "$bad" | head -20 | sed 's/^/#   /'
	fi
done

# The figures the reliability and pressure tests print.
for run in "${guests[@]}"; do
	kernel=${run%%=*} log=${run#*=}
	grep -E '^# (fuzz:|stress:|kill storm:|[0-9]+ unbind/bind|[0-9]+ load/unload|[0-9]+ overlay apply/remove|[0-9]+ allocations with|lent to the system|8 threads:)' "$log" |
		sed "s/^# /# $kernel: /" || true
done

# What each failed guest test said: its harness lines from "#  RUN" to its "not ok", so
# that a failure in CI (where only this summary is kept) can be read without the logs.
for run in "${guests[@]}"; do
	kernel=${run%%=*} log=${run#*=}
	sed '/^----- cmabuf-dmesg-begin/,$d' "$log" | awk -v k="$kernel" '
		/^# +RUN / { n = 0 }
		/^ok [0-9]+ / { n = 0; next }
		/^not ok [0-9]+ / { print "# " k ": " $0 " said:"; for (i = 0; i < n; i++) print "#   " buf[i]; n = 0; next }
		/^#/ && n < 25 { buf[n++] = $0 }'
done

if ((fail)); then
	echo "# failed: ${failed[*]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
((fail == 0 && pass > 0))
