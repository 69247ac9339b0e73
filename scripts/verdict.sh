#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Count the results of `make check`: TAP lines from the host checks and from the guest's
# selftests, plus two checks on the guest itself: it finished, and its kernel log has
# no BUG/WARNING/Oops/Call trace/kmemleak/UBSAN line. Prints every result, then
# "N passed, N failed, N skipped". Exits non-zero on any failure or if nothing ran.
#
# usage: verdict.sh <guest console log> [host TAP file...]
set -euo pipefail

log=$1; shift
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

# Results come from the part of the log before the guest's kernel-log dump.
tap_lines() {
	cat "$@" "$log" 2>/dev/null | sed '/^----- cmabuf-dmesg-begin/,$d' |
		grep -E '^(not )?ok [0-9]+ ' || true
}
while IFS= read -r line; do
	status=ok; [[ $line == "not ok"* ]] && status="not ok"
	rest=${line#"$status" }; rest=${rest#* }   # drop the number
	name=${rest%% # *}; reason=
	[[ $rest == *"# SKIP"* ]] && reason=${rest#*# SKIP}
	record "$status" "$name" "${reason# }"
done < <(tap_lines "$@")

if grep -q '^cmabuf-guest: done' "$log"; then
	record ok guest.finished
else
	record "not ok" guest.finished
	echo "# the guest did not finish: last console lines:"; tail -20 "$log" | sed 's/^/#   /'
fi

bad=$(grep -n -E 'BUG:|WARNING:|Oops|Call trace|kmemleak|UBSAN' "$log" || true)
if [ -z "$bad" ]; then
	record ok guest.kernel_log_clean
else
	record "not ok" guest.kernel_log_clean
	printf '%s\n' "$bad" | head -20 | sed 's/^/#   /'
fi

if ((fail)); then
	echo "# failed: ${failed[*]}"
fi
echo "$pass passed, $fail failed, $skip skipped"
((fail == 0 && pass > 0))
