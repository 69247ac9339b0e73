#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The test guest's /dev/vda: 8 MiB of a known pattern, little-endian 32-bit words
# w[i] = 0xd15c0000 + i * 2654435761 (mod 2^32), which the O_DIRECT test checks.
#
# usage: make-test-disk.sh <out.img>
set -euo pipefail

python3 - "$1" <<'PY'
import struct, sys
words = 8 * 1024 * 1024 // 4
data = struct.pack(f"<{words}I", *((0xd15c0000 + i * 2654435761) & 0xffffffff for i in range(words)))
with open(sys.argv[1], "wb") as f:
    f.write(data)
PY
