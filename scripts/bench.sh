#!/bin/sh
# bench.sh BUILD -- time tome against the usual tools on generated data.
#
#   sh scripts/bench.sh build          (what `make bench` runs)
#
# Settings (environment):
#   TOME_BENCH_DIR     where the data goes         (/tmp/tome-bench)
#   TOME_BENCH_LOG     size of the access log      (2G; K/M/G = 2^10/20/30)
#   TOME_BENCH_CSV     size of the CSV file        (500M)
#   TOME_BENCH_SMALL   size of the one-liners' log (200M)
#   TOME_BENCH_SPARSE  size of the memory tasks' sparse files (4G)
#   TOME_BENCH_RUNS    timed runs per tool         (5; the median is shown)
#   TOME_BENCH_TASKS   tasks to run, e.g. "count_lines top_ips" (all)
#   TOME_BENCH_STATES  page-cache states           ("fresh disk")
#   TOME_BENCH_THREADS DuckDB's threads            (2)
#
# How a mapped file scans depends on how it came into the page cache, so
# every timed task runs in two states, prepared right before it is timed:
#   fresh  the file has just been written in 4 KiB writes, as a logger
#          appends: the cache holds it in 4 KiB pages (a file written in
#          1 MiB writes sits in larger folios, between the two states;
#          the state "fresh1m" times that too);
#   disk   the file was evicted (posix_fadvise DONTNEED) and read back with
#          cat: readahead filled the cache with large folios.
# (This machine also drops page cache nobody maps after about a minute, so
# a state is never prepared long before its runs.)  The memory tasks (rss_*)
# run once each on sparse files and report the peak RSS only.
#
# Each tool's output goes to a pipe (some tools, grep among them, take
# shortcuts when it is /dev/null) and is checked against tome's (md5) in
# one extra, untimed run, which also gives the peak RSS.
#
# What it leaves in $TOME_BENCH_DIR/results: bench.tsv (one line per tool
# and state), json/TASK-STATE.json (hyperfine's raw export) and table.md
# (the README's table: `make bench-readme` puts it into README.md).  The
# table printed at the end is scripts/bench/report.lua's.
#
# Adding a task: write scripts/bench/NAME.lua (the script a user would
# write), a function task_NAME (below, or in scripts/bench/tasks_AREA.sh)
# that calls `input` once, then `tome` and `peer` for each command and
# `goal` for its target, and add NAME to TASKS (or MORE_TASKS in the
# area's file).
set -eu

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
DIR=${TOME_BENCH_DIR:-/tmp/tome-bench}
LOG_SIZE=${TOME_BENCH_LOG:-2G}
CSV_SIZE=${TOME_BENCH_CSV:-500M}
SMALL_SIZE=${TOME_BENCH_SMALL:-200M}
SPARSE_SIZE=${TOME_BENCH_SPARSE:-4G}
RUNS=${TOME_BENCH_RUNS:-5}
THREADS=${TOME_BENCH_THREADS:-2}
TASKS=${TOME_BENCH_TASKS:-count_lines rare_literal status_5xx sum_bytes \
top_ips top_ips_parallel status_hist status_hist_parallel csv_sum \
lines_iter gsub_writer parallel_sum parallel_5xx oneliner_count \
oneliner_sum oneliner_gsub rss_count rss_lines rss_lines_v rss_split_v \
rss_fields rss_grep rss_grep_pattern rss_find_pattern rss_match \
rss_gmatch rss_gsub_writer rss_unpack rss_parallel rss_tally}
STATES=${TOME_BENCH_STATES:-fresh disk}
TOME=$(cd "$BUILD" && pwd)/tome
GEN=$(cd "$BUILD" && pwd)
RES=$DIR/results
NODE_PREFIX=$GEN/bench-node

# {====== set-up ======
sh "$HERE/deps.sh" hyperfine time ripgrep gawk mawk perl
[ -x "$TOME" ] || { echo "bench: $TOME is missing; run make" >&2; exit 1; }
for g in gen_log gen_csv; do
  if [ ! -x "$GEN/$g" ] || [ "$HERE/$g.c" -nt "$GEN/$g" ]; then
    ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$GEN/$g" "$HERE/$g.c" -lm
  fi
done
if [ ! -x "$GEN/limit" ] || [ "$HERE/bench/limit.c" -nt "$GEN/limit" ]; then
  ${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$GEN/limit" "$HERE/bench/limit.c" \
    -lpthread
fi
# DuckDB, from npm, into a folder of the build only (never a dependency)
DUCKDB=
if command -v node > /dev/null && command -v npm > /dev/null; then
  if [ ! -d "$NODE_PREFIX/node_modules/@duckdb/node-api" ]; then
    echo "bench: installing @duckdb/node-api under $NODE_PREFIX" >&2
    npm install --silent --no-audit --no-fund --prefix "$NODE_PREFIX" \
      @duckdb/node-api > /dev/null 2>&1 ||
      echo "bench: npm install failed: no DuckDB peer" >&2
  fi
  [ -d "$NODE_PREFIX/node_modules/@duckdb/node-api" ] &&
    DUCKDB="node $HERE/bench/duckdb.cjs $NODE_PREFIX"
else
  echo "bench: node/npm missing: no DuckDB peer" >&2
fi
# the commands are shell strings: keep the paths in them plain
case $DIR$HERE$TOME in *[!A-Za-z0-9_./-]*)
  echo "bench: paths with spaces or quotes are not supported" >&2; exit 1;; esac
mkdir -p "$DIR" "$RES/json"
: > "$RES/bench.tsv"
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
# data KIND: the path of the data file of that kind
data() {
  case $1 in
    log) echo "$DIR/access-$LOG_SIZE.log";;
    csv) echo "$DIR/sales-$CSV_SIZE.csv";;
    small) echo "$DIR/access-$SMALL_SIZE.log";;
    sparse) echo "$DIR/sparse-$SPARSE_SIZE.log";;
    hole) echo "$DIR/hole-$SPARSE_SIZE.bin";;
    *) "data_$1";;        # an area's own kind (scripts/bench/tasks_*.sh)
  esac
}

size_of() {
  case $1 in
    log) echo "$LOG_SIZE";; csv) echo "$CSV_SIZE";; small) echo "$SMALL_SIZE";;
    *) echo "$SPARSE_SIZE";;
  esac
}

# generate KIND WRITE: write the file anew, in writes of WRITE bytes
generate() {
  file=$(data "$1")
  rm -f "$file"
  case $1 in
    sparse)  # holes with a log line at the end of every MiB
      "$GEN/gen_log" 1M > "$TMP/lines"
      "$TOME" "$HERE/bench/rss.lua" create "$file.tmp" \
        "$(bytes "$SPARSE_SIZE")" "$TMP/lines";;
    hole)    # one line of NULs, no newline at all
      truncate -s "$SPARSE_SIZE" "$file.tmp";;
    *)
      kind=$1; [ "$kind" = small ] && kind=log
      "$GEN/gen_$kind" "$(size_of "$1")" |
        dd of="$file.tmp" bs="${2:-1048576}" iflag=fullblock status=none;;
  esac
  mv "$file.tmp" "$file"
}

prepare() {    # prepare KIND STATE: put the data file in a cache state
  case $1 in log|csv|small|sparse|hole) ;; *) "prepare_$1" "$2"; return;; esac
  kind=$1 file=$(data "$1")
  case $2 in
    fresh) generate "$kind" 4096;;
    fresh1m) generate "$kind" 1048576;;
    disk)
      if [ ! -f "$file" ] || [ "$(wc -c < "$file")" -ne "$(bytes "$(size_of "$kind")")" ]
      then generate "$kind" 1048576; fi
      sh "$HERE/dropcache.sh" "$file";;
    sparse)
      if [ ! -f "$file" ] || [ "$(wc -c < "$file")" -ne "$(bytes "$SPARSE_SIZE")" ]
      then generate "$kind" 0; fi;;
    *) echo "bench: unknown state $2" >&2; exit 1;;
  esac
}

describe_state() {
  case $1 in
    fresh) echo "fresh: just written in 4 KiB writes, page cache in 4 KiB pages";;
    fresh1m) echo "fresh1m: just written in 1 MiB writes";;
    disk) echo "disk: evicted, read back with cat (large folios)";;
    sparse) echo "sparse: a $SPARSE_SIZE file of holes (read as zeros)";;
  esac
}
# }======

# {====== task registry ======
# Inside task_NAME: `input KIND "what it does"` picks the data file (its
# path is then in $IN), `tome CMD` and `peer NAME CMD` add the commands,
# `goal RATIO [PEER...]`: tome's time over the fastest of the PEERs named
# (all of them when none is) should be at most RATIO; `rss MB`: a memory
# task, run once, whose goal is tome's peak RSS (no peers).
input() { KIND=$1; IN=$(data "$1"); WHAT=$2; }
tome() { printf 'tome\t%s\n' "$1" >> "$TMP/cmds"; }
peer() {
  # skip tools that are not installed (the first word of the command)
  command -v "${2%% *}" > /dev/null || return 0
  printf '%s\t%s\n' "$1" "$2" >> "$TMP/cmds"
}
goal() {
  g=$1; shift
  GOAL="<=$g"
  for p in "$@"; do GOAL="$GOAL|$p"; done
}
rss() { GOAL="rss<=$1"; }
# a yardstick: timed beside the peers, its output not compared (it does
# the same reading, not the same task: the C limit of a scan)
yardstick() { printf '%s\t%s\tyardstick\n' "$1" "$2" >> "$TMP/cmds"; }
duckdb() {  # duckdb QUERY: DuckDB on $IN, when it is installed
  [ -n "$DUCKDB" ] || return 0
  printf 'DuckDB (%s threads)\t%s\n' "$THREADS" \
    "$DUCKDB $1 $IN $THREADS" >> "$TMP/cmds"
}

B=$HERE/bench
LOG_FIELD10="'{ s += \$10 } END { printf \"%.0f\\n\", s }'"
task_count_lines() {
  input log "count lines"
  tome "$TOME $B/count_lines.lua $IN"
  peer "wc -l" "wc -l < $IN"
  yardstick "C read+AVX2" "$GEN/limit $IN 1"
  goal 0.45 "wc -l"
}

task_rare_literal() {
  input log "count lines containing a rare literal"
  tome "$TOME $B/rare_literal.lua $IN /admin/debug"
  peer "grep -F" "grep -c -F /admin/debug $IN"
  peer "rg -F" "rg -c -F /admin/debug $IN"
  peer "rg -F --no-mmap" "rg --no-mmap -c -F /admin/debug $IN"
  goal 1.0 "rg -F" "rg -F --no-mmap"
}

task_status_5xx() {
  input log "count lines with a 5xx status"
  tome "$TOME $B/status_5xx.lua $IN"
  peer "grep" "grep -c '\" 5[0-9][0-9] ' $IN"
  peer "rg" "rg -c '\" 5[0-9][0-9] ' $IN"
  peer "rg --no-mmap" "rg --no-mmap -c '\" 5[0-9][0-9] ' $IN"
  goal 1.0 "rg" "rg --no-mmap"
}

task_sum_bytes() {
  input log "sum the bytes field"
  tome "$TOME $B/sum_bytes.lua $IN"
  peer "gawk" "gawk $LOG_FIELD10 $IN"
  peer "mawk" "mawk $LOG_FIELD10 $IN"
  peer "python3" "python3 -c 'import sys; print(sum(int(l.split(b\" \")[9]) for l in open(sys.argv[1], \"rb\")))' $IN"
  peer "lua5.4 io.lines" "lua5.4 $B/lua_sum_bytes.lua $IN"
  duckdb sum_bytes
  goal 1.0
}

task_top_ips() {
  input log "top 10 client IPs, one worker"
  tome "$TOME $B/top_ips.lua $IN"
  peer "python3 Counter" "python3 -c 'import sys, collections; c = collections.Counter(l.split(b\" \", 1)[0] for l in open(sys.argv[1], \"rb\")); [print(\"%d\\t%s\" % (n, ip.decode())) for ip, n in sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]' $IN"
  peer "mawk" "mawk '{ c[\$1]++ } END { for (k in c) print c[k] \"\\t\" k }' $IN | LC_ALL=C sort -k1,1nr -k2,2 | head -10"
  duckdb top_ips
  goal 1.0
}

task_top_ips_parallel() {
  input log "top 10 client IPs, tome.parallel with 2 workers"
  tome "$TOME $B/top_ips_parallel.lua $IN 2"
  duckdb top_ips
  goal 1.0
}

task_status_hist() {
  input log "requests per status code, one worker"
  tome "$TOME $B/status_hist.lua $IN"
  peer "mawk" "mawk '{ c[\$9]++ } END { for (k in c) print k \"\\t\" c[k] }' $IN | LC_ALL=C sort -k1,1"
  duckdb status_hist
  goal 1.0
}

task_status_hist_parallel() {
  input log "requests per status code, tome.parallel with 2 workers"
  tome "$TOME $B/status_hist_parallel.lua $IN 2"
  duckdb status_hist
  goal 1.0
}

task_csv_sum() {
  input csv "sum one CSV column"
  tome "$TOME $B/csv_sum.lua $IN"
  peer "mawk -F," "mawk -F, 'NR > 1 { s += \$4 } END { printf \"%.2f\\n\", s }' $IN"
  peer "gawk -F," "gawk -F, 'NR > 1 { s += \$4 } END { printf \"%.2f\\n\", s }' $IN"
  peer "python3" "python3 -c 'import sys; f = open(sys.argv[1], \"rb\"); next(f); print(\"%.2f\" % sum(float(l.split(b\",\")[3]) for l in f))' $IN"
  duckdb csv_sum
  goal 1.0
}

task_lines_iter() {
  input log "iterate over the lines"
  tome "$TOME $B/lines_iter.lua $IN"
  peer "lua5.4 io.lines" "lua5.4 $B/lua_lines_iter.lua $IN"
  goal 0.33
}

IP_LUA='%d+%.%d+%.%d+%.%d+'
IP_ERE='[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+'
task_gsub_writer() {
  input log "replace every IPv4-like address, m:gsub into a writer"
  tome "$TOME $B/gsub_writer.lua $IN '$IP_LUA' x"
  peer "sed -E" "sed -E 's/$IP_ERE/x/g' $IN"
  peer "perl -pe" "perl -pe 's/\\d+\\.\\d+\\.\\d+\\.\\d+/x/g' $IN"
  goal 1.0
}

# tome.parallel: 2 workers against 1 (the ratio is the speed-up), and the
# C limit for reading the file on 2 threads (GB/s)
task_parallel_sum() {
  input log "sum the bytes field with tome.parallel, 2 workers vs 1"
  tome "$TOME $B/sum_bytes_parallel.lua $IN 2"
  peer "tome 1 worker" "$TOME $B/sum_bytes_parallel.lua $IN 1"
  yardstick "C read+AVX2 2 threads" "$GEN/limit $IN 2"
  goal 0.56 "tome 1 worker"
}

task_parallel_5xx() {
  input log "count 5xx lines with tome.parallel, 2 workers vs 1"
  tome "$TOME $B/status_5xx_parallel.lua $IN 2"
  peer "tome 1 worker" "$TOME $B/status_5xx_parallel.lua $IN 1"
  yardstick "C read+AVX2 2 threads" "$GEN/limit $IN 2"
  goal 0.56 "tome 1 worker"
}

# one-liners (the host's -n/-p/-F) on a smaller log
task_oneliner_count() {
  input small "tome -n: count the lines matching a pattern"
  tome "$TOME -n 'if line:find(\"\\\" 5%d%d \") then n = (n or 0) + 1 end' --end 'print(n)' $IN"
  peer "mawk" "mawk '/\" 5[0-9][0-9] / { n++ } END { print n }' $IN"
  peer "perl -ne" "perl -ne '\$n++ if /\" 5\\d\\d /; END { print \"\$n\\n\" }' $IN"
  goal 1.0
}

task_oneliner_sum() {
  input small "tome -F' ' -n: sum a column"
  tome "$TOME -F ' ' -n 's = (s or 0) + (tonumber(F[10]) or 0)' --end 'print(s)' $IN"
  peer "mawk" "mawk $LOG_FIELD10 $IN"
  peer "perl -ane" "perl -lane '\$s += \$F[9]; END { print \$s }' $IN"
  goal 1.0
}

task_oneliner_gsub() {
  input small "tome -p: rewrite every line with gsub"
  tome "$TOME -p 'line = line:gsub(\"$IP_LUA\", \"x\")' $IN"
  peer "sed -E" "sed -E 's/$IP_ERE/x/g' $IN"
  peer "perl -pe" "perl -pe 's/\\d+\\.\\d+\\.\\d+\\.\\d+/x/g' $IN"
  goal 1.0
}

# memory: peak RSS of one method over a sparse file (scripts/bench/rss.lua)
rss_task() {  # rss_task METHOD KIND WHAT
  input "$2" "peak RSS: $3"
  tome "$TOME $B/rss.lua $1 $IN"
  rss 64
}
task_rss_count() { rss_task count sparse "m:count"; }
task_rss_lines() { rss_task lines sparse "m:lines()"; }
task_rss_lines_v() { rss_task lines_v hole "m:lines('v') over one huge line"; }
task_rss_split_v() { rss_task split_v hole "m:split(sep, 'v') over one huge field"; }
task_rss_fields() { rss_task fields sparse "m:fields"; }
task_rss_grep() { rss_task grep sparse "m:grep(plain)"; }
task_rss_grep_pattern() { rss_task grep_pattern sparse "m:grep(pattern, false)"; }
task_rss_find_pattern() { rss_task find_pattern sparse "m:find(pattern)"; }
task_rss_match() { rss_task match sparse "m:match"; }
task_rss_gmatch() { rss_task gmatch sparse "m:gmatch"; }
task_rss_gsub_writer() { rss_task gsub_writer sparse "m:gsub into a writer"; }
task_rss_unpack() { rss_task unpack sparse "a loop of m:unpack"; }
task_rss_parallel() { rss_task parallel sparse "tome.parallel, 2 workers"; }
task_rss_tally() { rss_task tally sparse "m:tally"; }

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
# record TOOL MEDIAN RSS_KB CHECK: one line of results/bench.tsv
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$task" "$state" "$WHAT" \
    "$1" "$2" "$size" "$3" "$4" "$GOAL" >> "$RES/bench.tsv"
}

# run_task NAME STATE: time every command of the task
run_task() {
  task=$1 state=$2
  : > "$TMP/cmds"
  GOAL=
  "task_$task"
  prepare "$KIND" "$state"
  if [ -d "$IN" ]; then   # a directory of files: their bytes
    size=$(find "$IN" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
  else size=$(wc -c < "$IN"); fi
  printf 'bench: %s, %s\n' "$task" "$(describe_state "$state")" >&2

  # one untimed run each: output (md5, to check against tome's), peak RSS
  n=0
  while IFS="	" read -r name cmd kind; do
    n=$((n + 1))
    rm -f "$TMP/fail$n"
    { /usr/bin/time -f '%M %e' -o "$TMP/rss$n" sh -c "exec $cmd" \
        2> "$TMP/err$n" || : > "$TMP/fail$n"; } | md5sum > "$TMP/sum$n"
    if [ -f "$TMP/fail$n" ]; then
      echo "bench: $cmd: failed" >&2
      head -5 "$TMP/err$n" >&2
    fi
  done < "$TMP/cmds"

  if [ "$state" = sparse ]; then  # memory tasks: the one run is the figure
    read -r kb secs < "$TMP/rss1"
    check=ok; [ -f "$TMP/fail1" ] && check=failed
    record tome "$secs" "$kb" "$check"
    return 0
  fi

  # the timed runs, all tools of the task in one hyperfine call
  set --
  while IFS="	" read -r name cmd kind; do set -- "$@" -n "$name" "$cmd"; done \
    < "$TMP/cmds"
  if ! hyperfine --runs "$RUNS" --warmup 0 --output=pipe --style none \
      --export-csv "$TMP/times.csv" \
      --export-json "$RES/json/$task-$state.json" "$@" \
      > /dev/null 2> "$TMP/hf.err"; then
    cat "$TMP/hf.err" >&2
    echo "bench: $task failed" >&2
    return 0
  fi
  # medians: the CSV's columns counted from the end (names may hold commas)
  tail -n +2 "$TMP/times.csv" | awk -F, '{ print $(NF - 4) }' > "$TMP/med"
  n=0
  while IFS="	" read -r name cmd kind; do
    n=$((n + 1))
    med=$(sed -n "${n}p" "$TMP/med")
    read -r kb secs < "$TMP/rss$n" || kb=0
    if [ -f "$TMP/fail$n" ]; then check=failed
    elif [ "$kind" = yardstick ]; then check=-
    elif cmp -s "$TMP/sum1" "$TMP/sum$n"; then check=same
    else check=differs; fi
    record "$name" "$med" "$kb" "$check"
  done < "$TMP/cmds"
}

{
  echo "tome bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $("$TOME" -v 2>&1 | head -1)"
  echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')," \
    "$(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo)," \
    "Linux $(uname -r)"
  echo "times are medians of $RUNS runs; ratio = tome's time / the peer's (below 1: tome is faster)"
} > "$RES/header.txt"
cat "$RES/header.txt"
for task in $TASKS; do
  STATES_OF_TASK=$STATES
  case $task in rss_*) STATES_OF_TASK=sparse;; esac
  for state in $STATES_OF_TASK; do run_task "$task" "$state"; done
done
lua5.4 "$B/report.lua" "$RES" > "$RES/table.txt"
lua5.4 "$B/report.lua" --markdown "$RES" > "$RES/table.md"
cat "$RES/table.txt"
echo "raw results: $RES (bench.tsv, json/, table.md; make bench-readme puts table.md into README.md)"
# }======
