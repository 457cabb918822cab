#!/bin/sh
# bench.sh BUILD -- time tome against the usual tools on generated data.
#
#   sh scripts/bench.sh build          (what `make bench` runs)
#
# Settings (environment):
#   TOME_BENCH_DIR     where the data goes         (/tmp/tome-bench)
#   TOME_BENCH_LOG     size of the access log      (2G; K/M/G = 2^10/20/30)
#   TOME_BENCH_CSV     size of the CSV file        (500M)
#   TOME_BENCH_RUNS    timed runs per tool         (5; the median is shown)
#   TOME_BENCH_TASKS   tasks to run, e.g. "count_lines top_ips" (all)
#   TOME_BENCH_STATES  page-cache states           ("fresh disk")
#
# How a mapped file scans depends on how it came into the page cache, so
# every task runs in two states, prepared right before it is timed:
#   fresh  the file has just been written (generated anew): the cache holds
#          it in 4 KiB pages, the state of a log a server is appending to;
#   disk   the file was evicted (posix_fadvise DONTNEED) and read back with
#          cat: readahead filled the cache with large folios.
# (This machine also drops page cache nobody maps after about a minute, so
# a state is never prepared long before its runs.)
#
# Each tool's output goes to a pipe (some tools, grep among them, take
# shortcuts when it is /dev/null) and is checked against tome's in one
# extra, untimed run, which also gives the peak RSS.
#
# Adding a task: write scripts/bench/NAME.lua (the script a user would
# write), a function task_NAME (below, or in scripts/bench/tasks_AREA.sh)
# that calls `input` once and then `tome` and `peer` for each command,
# and add NAME to TASKS (or MORE_TASKS in the area's file).
set -eu

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${TOME_BENCH_DIR:-/tmp/tome-bench}
LOG_SIZE=${TOME_BENCH_LOG:-2G}
CSV_SIZE=${TOME_BENCH_CSV:-500M}
RUNS=${TOME_BENCH_RUNS:-5}
TASKS=${TOME_BENCH_TASKS:-count_lines rare_literal status_5xx sum_bytes top_ips csv_sum lines_iter parallel_sum parallel_5xx}
STATES=${TOME_BENCH_STATES:-fresh disk}
TOME=$(cd "$BUILD" && pwd)/tome
GEN=$(cd "$BUILD" && pwd)

# {====== set-up ======
sh "$HERE/deps.sh" hyperfine time
[ -x "$TOME" ] || { echo "bench: $TOME is missing; run make" >&2; exit 1; }
for g in gen_log gen_csv; do
  if [ ! -x "$GEN/$g" ] || [ "$HERE/$g.c" -nt "$GEN/$g" ]; then
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$GEN/$g" "$HERE/$g.c" -lm
  fi
done
# the commands are shell strings: keep the paths in them plain
case $DIR$HERE$TOME in *[!A-Za-z0-9_./-]*)
  echo "bench: paths with spaces or quotes are not supported" >&2; exit 1;; esac
mkdir -p "$DIR"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT INT TERM

# bytes in a size such as 1G
bytes() {
  case $1 in
    *[kK]) echo $(( ${1%?} * 1024 ));;
    *[mM]) echo $(( ${1%?} * 1024 * 1024 ));;
    *[gG]) echo $(( ${1%?} * 1024 * 1024 * 1024 ));;
    *) echo "$1";;
  esac
}
# }======

# {====== data and cache states ======
# data KIND: the path of the data file of that kind (log or csv)
data() {
  case $1 in
    log) echo "$DIR/access-$LOG_SIZE.log";;
    csv) echo "$DIR/sales-$CSV_SIZE.csv";;
    *) "data_$1";;        # an area's own kind (scripts/bench/tasks_*.sh)
  esac
}

generate() {   # generate KIND: write the file anew
  kind=$1 file=$(data "$1")
  case $kind in log) size=$LOG_SIZE;; csv) size=$CSV_SIZE;; esac
  rm -f "$file"
  "$GEN/gen_$kind" "$size" "$file.tmp"
  mv "$file.tmp" "$file"
}

prepare() {    # prepare KIND STATE: put the data file in a cache state
  case $1 in log|csv) ;; *) "prepare_$1" "$2"; return;; esac
  kind=$1 file=$(data "$1")
  case $kind in log) size=$LOG_SIZE;; csv) size=$CSV_SIZE;; esac
  case $2 in
    fresh) generate "$kind";;
    disk)
      if [ ! -f "$file" ] || [ "$(wc -c < "$file")" -ne "$(bytes "$size")" ]
      then generate "$kind"; fi
      sh "$HERE/dropcache.sh" "$file";;
    *) echo "bench: unknown state $2" >&2; exit 1;;
  esac
}

describe_state() {
  case $1 in
    fresh) echo "fresh: just written, page cache in 4 KiB pages";;
    disk) echo "disk: evicted, read back with cat (large folios)";;
  esac
}
# }======

# {====== task registry ======
# Inside task_NAME: `input KIND "what it does"` picks the data file (its
# path is then in $IN), `tome CMD` and `peer NAME CMD` add the commands.
input() { KIND=$1; IN=$(data "$1"); WHAT=$2; }
tome() { printf 'tome\t%s\n' "$1" >> "$TMP/cmds"; }
peer() {
  # skip tools that are not installed (the first word of the command)
  command -v "${2%% *}" > /dev/null || return 0
  printf '%s\t%s\n' "$1" "$2" >> "$TMP/cmds"
}

B=$HERE/bench
task_count_lines() {
  input log "count lines"
  tome "$TOME $B/count_lines.lua $IN"
  peer "wc -l" "wc -l < $IN"
}

task_rare_literal() {
  input log "count lines containing a rare literal"
  tome "$TOME $B/rare_literal.lua $IN /admin/debug"
  peer "grep -F" "grep -c -F /admin/debug $IN"
  peer "rg -F" "rg -c -F /admin/debug $IN"
  peer "rg -F --no-mmap" "rg --no-mmap -c -F /admin/debug $IN"
}

task_status_5xx() {
  input log "count lines with a 5xx status"
  tome "$TOME $B/status_5xx.lua $IN"
  peer "grep" "grep -c '\" 5[0-9][0-9] ' $IN"
  peer "rg" "rg -c '\" 5[0-9][0-9] ' $IN"
  peer "rg --no-mmap" "rg --no-mmap -c '\" 5[0-9][0-9] ' $IN"
}

task_sum_bytes() {
  input log "sum the bytes field"
  tome "$TOME $B/sum_bytes.lua $IN"
  peer "gawk" "gawk '{ s += \$10 } END { printf \"%.0f\\n\", s }' $IN"
  peer "mawk" "mawk '{ s += \$10 } END { printf \"%.0f\\n\", s }' $IN"
  peer "python3" "python3 -c 'import sys; print(sum(int(l.split(b\" \")[9]) for l in open(sys.argv[1], \"rb\")))' $IN"
  peer "lua5.4 io.lines" "lua5.4 $B/lua_sum_bytes.lua $IN"
}

task_top_ips() {
  input log "top 10 client IPs"
  tome "$TOME $B/top_ips.lua $IN"
  peer "python3 Counter" "python3 -c 'import sys, collections; c = collections.Counter(l.split(b\" \", 1)[0] for l in open(sys.argv[1], \"rb\")); [print(n, ip.decode()) for ip, n in c.most_common(10)]' $IN"
  peer "gawk" "gawk '{ c[\$1]++ } END { for (k in c) print c[k], k }' $IN | LC_ALL=C sort -k1,1nr -k2,2 | head -10"
  peer "mawk" "mawk '{ c[\$1]++ } END { for (k in c) print c[k], k }' $IN | LC_ALL=C sort -k1,1nr -k2,2 | head -10"
}

task_csv_sum() {
  input csv "sum one CSV column"
  tome "$TOME $B/csv_sum.lua $IN"
  peer "mawk -F," "mawk -F, 'NR > 1 { s += \$4 } END { printf \"%.2f\\n\", s }' $IN"
  peer "gawk -F," "gawk -F, 'NR > 1 { s += \$4 } END { printf \"%.2f\\n\", s }' $IN"
  peer "python3" "python3 -c 'import sys; f = open(sys.argv[1], \"rb\"); next(f); print(\"%.2f\" % sum(float(l.split(b\",\")[3]) for l in f))' $IN"
}

# tome.parallel: 2 workers against 1 (the ratio is the speed-up)
task_parallel_sum() {
  input log "sum the bytes field with tome.parallel, 2 workers vs 1"
  tome "$TOME $B/sum_bytes_parallel.lua $IN 2"
  peer "tome 1 worker" "$TOME $B/sum_bytes_parallel.lua $IN 1"
  peer "gawk" "gawk '{ s += \$10 } END { printf \"%.0f\\n\", s }' $IN"
}

task_parallel_5xx() {
  input log "count 5xx lines with tome.parallel, 2 workers vs 1"
  tome "$TOME $B/status_5xx_parallel.lua $IN 2"
  peer "tome 1 worker" "$TOME $B/status_5xx_parallel.lua $IN 1"
  peer "rg --no-mmap" "rg --no-mmap -c '\" 5[0-9][0-9] ' $IN"
}

task_lines_iter() {
  input log "iterate over the lines"
  tome "$TOME $B/lines_iter.lua $IN"
  peer "lua5.4 io.lines" "lua5.4 $B/lua_lines_iter.lua $IN"
}

# Each area keeps its tasks in scripts/bench/tasks_AREA.sh: task_NAME
# functions as above, and `MORE_TASKS="$MORE_TASKS NAME..."` to run them
# by default.
MORE_TASKS=
for f in "$B"/tasks_*.sh; do
  [ -f "$f" ] || continue
  # shellcheck disable=SC1090
  . "$f"
done
[ -n "${TOME_BENCH_TASKS:-}" ] || TASKS="$TASKS$MORE_TASKS"
# }======

# {====== running ======
# run_task NAME STATE: time every command of the task, print the table
run_task() {
  task=$1 state=$2
  : > "$TMP/cmds"
  "task_$task"
  prepare "$KIND" "$state"
  if [ -d "$IN" ]; then   # a directory of files: their bytes
    size=$(find "$IN" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
  else size=$(wc -c < "$IN"); fi

  # one untimed run each: output (to check against tome's) and peak RSS
  n=0
  while IFS="	" read -r name cmd; do
    n=$((n + 1))
    if ! /usr/bin/time -f %M -o "$TMP/rss$n" sh -c "exec $cmd" \
        > "$TMP/out$n" 2> "$TMP/err$n"; then
      echo "bench: $cmd: failed" >&2
      head -5 "$TMP/err$n" >&2
    fi
  done < "$TMP/cmds"

  # the timed runs, all tools of the task in one hyperfine call
  set --
  while IFS="	" read -r name cmd; do set -- "$@" -n "$name" "$cmd"; done \
    < "$TMP/cmds"
  if ! hyperfine --runs "$RUNS" --warmup 0 --output=pipe --style none \
      --export-csv "$TMP/times.csv" "$@" > /dev/null 2> "$TMP/hf.err"; then
    cat "$TMP/hf.err" >&2
    echo "bench: $task failed" >&2
    return 0
  fi

  printf '\n%s: %s, %s\n' "$task" "$WHAT" "$(describe_state "$state")"
  printf '%s, %s bytes\n' "$IN" "$size"
  # columns of hyperfine's CSV, counted from the end
  # (the tool names come from our list: hyperfine's CSV quotes commas)
  tail -n +2 "$TMP/times.csv" | awk -F, -v size="$size" -v tmp="$TMP" '
    function slurp(f,   s, l) {
      s = ""
      while ((getline l < f) > 0) s = s l " "
      close(f)
      gsub(/[ \t]+/, " ", s)
      return s
    }
    { med[NR] = $(NF - 4); FS = "\t"; getline name[NR] < (tmp "/cmds")
      sub(/\t.*/, "", name[NR]); FS = "," }
    END {
      printf "  %-16s %10s %8s %9s %10s\n", "tool", "median", "GB/s",
             "tome/tool", "peak RSS"
      want = slurp(tmp "/out1")
      for (i = 1; i <= NR; i++) {
        getline rss < (tmp "/rss" i)
        got = slurp(tmp "/out" i)
        printf "  %-16s %9.3fs %8.2f %8.2fx %6.1f MiB\n", name[i], med[i],
               size / med[i] / 1e9, med[1] / med[i], rss / 1024
        if (got != want)
          printf "    output differs from tome'"'"'s: %s... vs %s...\n",
                 substr(got, 1, 60), substr(want, 1, 60)
      }
    }'
}

echo "tome bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $("$TOME" -v 2>&1 | head -1)"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
  "$(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo)," \
  "Linux $(uname -r)"
echo "times are medians of $RUNS runs; tome/tool below 1 means tome is faster"
for task in $TASKS; do
  for state in $STATES; do run_task "$task" "$state"; done
done
# }======
