#!/bin/sh
# stage.sh -- the stages of `make test` (and `make demo`): one line each on
# the terminal, everything a stage prints in a log of its own.
#
#   sh scripts/stage.sh begin TITLE        forget the last run's results
#   sh scripts/stage.sh [-k] NAME CMD...   run CMD, its output to DIR/NAME.log,
#                                          print one line; when it fails, print
#                                          the end of the log and the summary,
#                                          and stop (exit 1) -- or with -k keep
#                                          going (later stages run, `end` fails)
#   sh scripts/stage.sh end                the summary: N passed, M failed
#
# DIR is $STAGE_DIR (default build/test).  A stage's tests are counted from
# its log: busted's "N successes / M failures / E errors / P pending"
# lines and lines "N passed, M failed" (the C specs print one); a stage
# that prints neither counts as one test.  $STAGE_TAIL log lines (default
# 80) are shown for a failed stage.
DIR=${STAGE_DIR:-build/test}
RESULTS=$DIR/results
TAIL=${STAGE_TAIL:-80}

# "passed failed pending" counted in log $1 (nothing when it has no counts)
counts() {
  awk '
    /^[0-9]+ successes \/ [0-9]+ failures \/ [0-9]+ errors \/ [0-9]+ pending/ {
      p += $1; f += $4 + $7; q += $10; n++ }
    /^[0-9]+ passed, [0-9]+ failed/ { p += $1; f += $3; n++ }
    END { if (n) print p + 0, f + 0, q + 0 }' "$1"
}

summary() {
  awk -v title="$(cat "$DIR/title" 2>/dev/null)" '
    { p += $3; f += $4; q += $5; s += $6; if ($2 != "ok") bad++; n++ }
    END {
      line = sprintf("%s: %d passed, %d failed", title, p, f)
      if (q) line = line sprintf(", %d pending", q)
      line = line sprintf(" (%d stages", n)
      if (bad) line = line sprintf(", %d failed", bad)
      printf "%s, %d min %d s)\n", line, s / 60, s % 60
      exit (bad ? 1 : 0) }' "$RESULTS"
}

case $1 in
  begin)
    mkdir -p "$DIR" || exit 1
    rm -f "$DIR"/*.log "$RESULTS"
    : > "$RESULTS"
    echo "${2:-make}" > "$DIR/title"
    echo "${2:-make} (a line per stage; logs in $DIR/)"
    exit 0 ;;
  end)
    summary
    exit ;;
esac

keep=0
if [ "$1" = -k ]; then keep=1; shift; fi
name=$1
shift
log=$DIR/$name.log
mkdir -p "$DIR"
start=$(date +%s)
"$@" > "$log" 2>&1 < /dev/null
rc=$?
secs=$(( $(date +%s) - start ))
set -- $(counts "$log")
if [ $# -eq 0 ]; then
  if [ $rc -eq 0 ]; then set -- 1 0 0; else set -- 0 1 0; fi
elif [ $rc -ne 0 ] && [ "$2" -eq 0 ]; then
  set -- "$1" 1 "$3"   # it failed without a failed test: count the stage
fi
if [ $rc -eq 0 ]; then status=ok; else status=FAILED; fi
tests=""
[ "$1" -gt 1 ] || [ "$2" -gt 0 ] && tests="$1 passed, $2 failed"
[ "$3" -gt 0 ] && tests="$tests, $3 pending"
printf '  %-14s %-6s %-32s %4d s\n' "$name" "$status" "$tests" "$secs"
echo "$name $status $1 $2 $3 $secs" >> "$RESULTS"
[ $rc -eq 0 ] && exit 0
echo "---- the last $TAIL lines of $log ----"
tail -n "$TAIL" "$log"
echo "----"
[ $keep -eq 1 ] && exit 0
summary
exit 1
