# scripts/bench/tasks_inputs.sh -- compressed files and many files (issue
# "real inputs"), sourced by scripts/bench.sh.
#
# Kinds of data, made from the access log of the main bench (its size is
# TOME_BENCH_LOG):
#   loggz   the log compressed with gzip -6 (one member)
#   logzst  the log compressed with zstd -3 (one frame, size recorded)
#   loggzm  the log as 64 gzip members (as bgzip or cat *.gz make them)
#   many    TOME_BENCH_MANY files (200) of TOME_BENCH_MANY_SIZE (10M)
# States: fresh = the compressed file (or the files) written anew; disk =
# evicted from the page cache, then read back with cat.
MANY=${TOME_BENCH_MANY:-200}
MANY_SIZE=${TOME_BENCH_MANY_SIZE:-10M}

data_loggz() { echo "$DIR/access-$LOG_SIZE.log.gz"; }
data_logzst() { echo "$DIR/access-$LOG_SIZE.log.zst"; }
data_loggzm() { echo "$DIR/access-$LOG_SIZE.members.gz"; }
data_many() { echo "$DIR/many-$MANY-$MANY_SIZE"; }

# the plain log, generated when missing
inputs_log() {
  file=$(data log)
  if [ ! -f "$file" ] || [ "$(wc -c < "$file")" -ne "$(bytes "$LOG_SIZE")" ]
  then generate log; fi
}

# inputs_make KIND: write the compressed form of the log anew
inputs_make() {
  inputs_log
  src=$(data log) out=$(data "$1")
  case $1 in
    loggz) gzip -6 -c "$src" > "$out.tmp";;
    logzst) zstd -q -3 -f -o "$out.tmp" "$src";;
    loggzm)
      : > "$out.tmp"
      piece=$(( $(bytes "$LOG_SIZE") / 64 + 1 ))
      split -b "$piece" "$src" "$TMP/piece."
      for p in "$TMP"/piece.*; do gzip -6 -c "$p" >> "$out.tmp"; done
      rm -f "$TMP"/piece.*;;
  esac
  mv "$out.tmp" "$out"
}

inputs_prepare() {   # inputs_prepare KIND STATE
  case $2 in
    fresh) inputs_make "$1";;
    disk) [ -f "$(data "$1")" ] || inputs_make "$1"
          sh "$HERE/dropcache.sh" "$(data "$1")";;
  esac
}
prepare_loggz() { inputs_prepare loggz "$1"; }
prepare_logzst() { inputs_prepare logzst "$1"; }
prepare_loggzm() { inputs_prepare loggzm "$1"; }

prepare_many() {
  d=$(data many)
  if [ "$1" = fresh ] || [ ! -d "$d" ]; then
    rm -rf "$d"
    mkdir -p "$d"
    i=1
    while [ "$i" -le "$MANY" ]; do
      "$GEN/gen_log" -s "$i" "$MANY_SIZE" "$d/part-$i.log"
      i=$((i + 1))
    done
  else
    for f in "$d"/*.log; do sh "$HERE/dropcache.sh" "$f"; done
  fi
}

FIVEXX="'\" 5[0-9][0-9] '"

task_gz_count_lines() {
  input loggz "count lines of the log compressed with gzip -6"
  tome "$TOME $B/count_lines.lua $IN"
  peer "zcat | wc -l" "zcat $IN | wc -l"
  goal 1.0
}

task_zst_count_lines() {
  input logzst "count lines of the log compressed with zstd -3"
  tome "$TOME $B/count_lines.lua $IN"
  peer "zstdcat | wc -l" "zstdcat $IN | wc -l"
  goal 1.0
}

task_gz_status_5xx() {
  input loggz "count 5xx lines of the log compressed with gzip -6"
  tome "$TOME $B/status_5xx.lua $IN"
  peer "rg -z" "rg -z -c $FIVEXX $IN"
  peer "zgrep" "zgrep -c $FIVEXX $IN"
  goal 1.0
}

task_zst_status_5xx() {
  input logzst "count 5xx lines of the log compressed with zstd -3"
  tome "$TOME $B/status_5xx.lua $IN"
  peer "rg -z" "rg -z -c $FIVEXX $IN"
  peer "zstdgrep" "zstdgrep -c $FIVEXX $IN"
  goal 1.0
}

# decompression in threads: 2 workers against 1 on a 64-member gzip file
task_gzm_parallel() {
  input loggzm "count lines of a 64-member gzip file, decompressed by 2 threads vs 1"
  tome "$TOME $B/count_lines_workers.lua $IN 2"
  peer "tome 1 worker" "$TOME $B/count_lines_workers.lua $IN 1"
  peer "zcat | wc -l" "zcat $IN | wc -l"
  goal 0.56 "tome 1 worker"
}

# tome.parallel over a list of files: 2 workers against 1
task_many_parallel() {
  input many "count lines of $MANY files of $MANY_SIZE with tome.parallel, 2 workers vs 1"
  tome "$TOME $B/count_lines_files.lua 2 $IN/*.log"
  peer "tome 1 worker" "$TOME $B/count_lines_files.lua 1 $IN/*.log"
  peer "cat | wc -l" "cat $IN/*.log | wc -l"
  goal 0.56 "tome 1 worker"
}

# (the peak RSS of each row is in the table; for the 2 GB log it should
# stay within 64 MB: the decompressed bytes go to an unlinked file)

MORE_TASKS="$MORE_TASKS gz_count_lines zst_count_lines gz_status_5xx zst_status_5xx gzm_parallel many_parallel"
