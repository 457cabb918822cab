#!/bin/sh
# demo.sh BUILD -- generate a sample web access log (5 MB, the same bytes
# every time) under BUILD/demo/ and run the example report on it.
#   sh scripts/demo.sh build        (what `make demo` runs)
set -eu
BUILD=${1:-build}
HERE=$(dirname "$0")
SIZE=5M
SIZE_BYTES=5242880
LOG=$BUILD/demo/access.log

# gen_log is normally built by make; build it here if it is missing.
if [ ! -x "$BUILD/gen_log" ] || [ "$HERE/gen_log.c" -nt "$BUILD/gen_log" ]; then
  mkdir -p "$BUILD"
  ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$BUILD/gen_log" "$HERE/gen_log.c" -lm
fi
if [ ! -x "$BUILD/tome" ]; then
  echo "demo: $BUILD/tome is missing; run make first" >&2
  exit 1
fi

mkdir -p "$BUILD/demo"
if [ ! -f "$LOG" ] || [ "$(wc -c < "$LOG")" -ne "$SIZE_BYTES" ]; then
  "$BUILD/gen_log" "$SIZE" "$LOG.tmp"
  mv "$LOG.tmp" "$LOG"
fi

echo "\$ $BUILD/tome $HERE/report.lua $LOG"
"$BUILD/tome" "$HERE/report.lua" "$LOG"
echo
printf '%s\n' "\$ $BUILD/tome -m $LOG -e 'print(m:count(\"\\n\"))'"
"$BUILD/tome" -m "$LOG" -e 'print(m:count("\n"))'
