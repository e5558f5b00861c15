#!/usr/bin/env bash
# Where the native (outside the JS heap) memory of a long run goes: runs the micro soak twice under
# heaptrack (Debian package `heaptrack`), SHORT and LONG steps, keeping the device alive at exit
# (--keep-device), and prints heaptrack's difference of what is still allocated at exit: allocation
# sites whose bytes grow with the number of steps. Not part of `npm test` (several minutes).
#
#   tools/soak-native.sh [SHORT=300] [LONG=1200] [OUT=tmp/soak-native]
set -euo pipefail
SHORT=${1:-300}
LONG=${2:-1200}
OUT=${3:-tmp/soak-native}
command -v heaptrack >/dev/null || { echo "needs heaptrack: apt-get install -y heaptrack" >&2; exit 2; }
mkdir -p "$OUT"
export VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}
for n in "$SHORT" "$LONG"; do
  echo "soak under heaptrack: $n steps" >&2
  heaptrack -o "$OUT/soak$n" node --expose-gc --import tsx --import ./tools/raw-loader.mjs tools/soak.ts \
    --micro --steps "$n" --every 100 --batch 1 --doc none --keep-device --out "$OUT/soak$n.json" > "$OUT/soak$n.log" 2>&1 || true
done
for n in "$SHORT" "$LONG"; do
  echo "== $n steps: left allocated at exit (device kept alive)"
  heaptrack_print -f "$OUT/soak$n.zst" -a 0 -T 0 -p 0 -l 0 2>/dev/null | grep -E "total memory leaked|peak heap"
done
echo "== growth from $SHORT to $LONG steps, largest sites first (frames of stripped libraries show as addresses)"
heaptrack_print -f "$OUT/soak$LONG.zst" -d "$OUT/soak$SHORT.zst" -l 1 -a 0 -T 0 -p 0 2>/dev/null \
  | sed -n '/MEMORY LEAKS/,$p' | grep -E "leaked over|^ +in |^ +at " | sed -n '1,40p'
