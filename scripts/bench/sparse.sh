#!/bin/sh
# sparse.sh BUILD [SIZE] -- a file larger than this machine's memory (32G
# by default), all holes but a few lines at the start, the middle and the
# end, scanned by scripts/bench/sparse.lua; prints tome's peak RSS.
# Not part of `make test` (the count reads the whole file's holes).
set -eu
BUILD=${1:-build}
SIZE=${2:-32G}
DIR=${TOME_BENCH_DIR:-/tmp/tome-bench}
HERE=$(cd "$(dirname "$0")" && pwd)
F=$DIR/sparse-$SIZE.bin
mkdir -p "$DIR"
rm -f "$F"
truncate -s "$SIZE" "$F"
bytes=$(stat -c %s "$F")
put() {  # put OFFSET TEXT: write TEXT at byte OFFSET, keep the size
  printf '%s' "$2" | dd of="$F" bs=1 seek="$1" conv=notrunc status=none
}
put 0 "first line
second line
"
put $((bytes / 2 + 12345)) "
middle marker far above 4 GiB
"
put $((bytes - 40)) "
end marker line
the very last line
"
echo "sparse file: $F, $(du -h "$F" | cut -f1) on disk for $SIZE"
/usr/bin/time -f "tome peak RSS: %M KiB, %e s" "$BUILD/tome" "$HERE/sparse.lua" "$F"
rm -f "$F"
