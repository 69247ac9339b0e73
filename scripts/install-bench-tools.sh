#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# matplotlib for the benchmark's plot (make bench only), from PyPI into the cache.
# Idempotent: a second run only checks.
set -euo pipefail
. "$(dirname "$0")/env.sh"

if ! PYTHONPATH=$CMABUF_CACHE/pylib python3 -c 'import matplotlib' 2>/dev/null; then
	log "installing matplotlib from PyPI (for the benchmark plot)"
	python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore \
		--target "$CMABUF_CACHE/pylib" 'matplotlib>=3.7,<4'
fi
