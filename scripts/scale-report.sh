#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The timings selftests/scale_test.c prints (its "... in N ms" lines), gathered from
# make scale's guest console logs: a Markdown table per kernel of each step of each
# test, with the number of runs, min, median and max. TCG times: behaviour only.
#
# usage: scale-report.sh <kernel>=<console log>...   (e.g. base=build/scale-base.log)
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scale-report.sh <kernel>=<console log>..." >&2; exit 1; }
for run in "$@"; do
	kernel=${run%%=*} log=${run#*=}
	# "# scale_test.c:210:<test>:<bytes> bytes allocated (...) in 24804 ms"
	sed -n 's/^# scale_test\.c:[0-9]*:\([a-z0-9_]*\):\(.*\) in \([0-9]*\) ms$/\1|\2|\3/p' "$log" |
		sed "s/^/$kernel|/"
done | sort -t'|' -k1,1 -k2,2 -k3,3 -s | awk -F'|' '
	function flush(   i, j, t, n, med) {
		if (!key) return
		n = cnt
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
			if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		med = n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf "| %s | %s | %s | %d | %.1f | %.1f | %.1f |\n", k1, k2, k3, n, v[1] / 1000, med / 1000, v[n] / 1000
	}
	BEGIN { print "| kernel | test | step | runs | min s | median s | max s |"; print "|---|---|---|---|---|---|---|" }
	{ if ($1 "|" $2 "|" $3 != key) { flush(); key = $1 "|" $2 "|" $3; k1 = $1; k2 = $2; k3 = $3; cnt = 0 }
	  v[++cnt] = $4 }
	END { flush() }'
