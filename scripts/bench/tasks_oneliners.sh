# tasks_oneliners.sh -- the one-liner rows of the benchmark (sourced by
# scripts/bench.sh): `tome -n`, `-F`, `-p` against mawk, sed -E and
# perl -pe on the access log, and v:csv against mawk -F, and DuckDB on
# the CSV.  The commands are the ones a user of each tool would type;
# their outputs are checked equal by bench.sh.  Each log task runs on the
# 200 MB log (ol_NAME, bench.sh's "small" data where it has it) and on the
# big one (ol_NAME_2g).  Run only some with
#   TOME_BENCH_TASKS="ol_count ol_sum ..." make bench
# shellcheck shell=sh disable=SC2016

# bench.sh's helpers that may not exist in every version of it
ol_goal() { if type goal > /dev/null 2>&1; then goal "$@"; fi; }
ol_duckdb() { if type duckdb > /dev/null 2>&1; then duckdb "$@"; fi; }
# the 200 MB log where bench.sh has one ("small"), else the big one; the
# _2g tasks always take the big one (TOME_BENCH_LOG, 2 GB by default)
ol_small() { if [ -n "$(data small)" ]; then echo small; else echo log; fi; }

ol_count() {
  input "$1" "one-liner: count lines holding a literal"
  tome "$TOME --begin n=0 -n 'if line:find(\"Googlebot\", 1, true) then n = n + 1 end' --end 'print(n)' $IN"
  peer "mawk" "mawk '/Googlebot/ { n++ } END { print n + 0 }' $IN"
  peer "gawk" "gawk '/Googlebot/ { n++ } END { print n + 0 }' $IN"
  ol_goal 1.0 mawk
}

ol_sum() {
  input "$1" "one-liner: sum a column (-F)"
  tome "$TOME --begin s=0 -n 's = s + F[10]' --end 'print(string.format(\"%.0f\", s))' $IN"
  peer "mawk" "mawk '{ s += \$10 } END { printf \"%.0f\\n\", s }' $IN"
  peer "perl -lane" "perl -lane '\$s += \$F[9]; END { printf \"%.0f\\n\", \$s }' $IN"
  ol_goal 1.0 mawk
}

ol_field() {
  input "$1" "one-liner: print a field of the lines holding a literal"
  tome "$TOME -n 'if line:find(\" 404 \", 1, true) then print(F[1]) end' $IN"
  peer "mawk" "mawk '/ 404 / { print \$1 }' $IN"
  ol_goal 1.0 mawk
}

ol_top() {
  input "$1" "one-liner: top 10 values of a field"
  tome "$TOME --begin 'c = {}' -n 'local k = F[1] c[k] = (c[k] or 0) + 1' --end 'for k, v in pairs(c) do print(v .. \"\\t\" .. k) end' $IN | LC_ALL=C sort -k1,1nr -k2,2 | head -10"
  peer "mawk" "mawk '{ c[\$1]++ } END { for (k in c) print c[k] \"\\t\" k }' $IN | LC_ALL=C sort -k1,1nr -k2,2 | head -10"
  ol_goal 1.0 mawk
}

ol_between() {
  input "$1" "one-liner: the lines between two timestamps (an expression)"
  tome "$TOME -n 'F[4] >= \"[10/Oct/2026:01:00\" and F[4] < \"[10/Oct/2026:02:00\"' $IN"
  peer "mawk" "mawk '\$4 >= \"[10/Oct/2026:01:00\" && \$4 < \"[10/Oct/2026:02:00\"' $IN"
  ol_goal 1.0 mawk
}

ol_gsub() {
  input "$1" "one-liner: -p with a gsub per line (a literal-led pattern)"
  tome "$TOME -p 'line = line:gsub(\"HTTP/[%d.]+\", \"HTTP\")' $IN"
  peer "sed -E" "sed -E 's#HTTP/[0-9.]+#HTTP#g' $IN"
  peer "perl -pe" "perl -pe 's#HTTP/[0-9.]+#HTTP#g' $IN"
  ol_goal 1.0 "sed -E" "perl -pe"
}

ol_gsub_ip() {
  input "$1" "one-liner: -p with a gsub per line (every IPv4-like address)"
  tome "$TOME -p 'line = line:gsub(\"%d+%.%d+%.%d+%.%d+\", \"x\")' $IN"
  peer "sed -E" "sed -E 's/[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+/x/g' $IN"
  peer "perl -pe" "perl -pe 's/[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+/x/g' $IN"
  ol_goal 1.0 "sed -E" "perl -pe"
}

task_ol_csv() {
  input csv "v:csv, one column (the bench CSV has quoted fields)"
  tome "$TOME $B/csv_column.lua $IN 1"
  peer "tome -F csv" "$TOME -F csv --header --begin s=0 -n 's = s + F.amount' --end 'print(string.format(\"%.2f\", s))' $IN"
  peer "mawk -F," "mawk -F, 'NR > 1 { s += \$4 } END { printf \"%.2f\\n\", s }' $IN"
  peer "python3 csv" "python3 -c 'import csv, sys; r = csv.reader(open(sys.argv[1], newline=\"\")); next(r); print(\"%.2f\" % sum(float(x[3]) for x in r))' $IN"
  ol_duckdb csv_sum
  ol_goal 1.0 "mawk -F,"
}

task_ol_csv_parallel() {
  input csv "v:csv, one column, tome.parallel with 2 workers vs DuckDB"
  tome "$TOME $B/csv_column.lua $IN 2"
  peer "tome 1 worker" "$TOME $B/csv_column.lua $IN 1"
  ol_duckdb csv_sum
  ol_goal 1.0
}

task_ol_count() { ol_count "$(ol_small)"; }
task_ol_count_2g() { ol_count log; }
task_ol_sum() { ol_sum "$(ol_small)"; }
task_ol_sum_2g() { ol_sum log; }
task_ol_field() { ol_field "$(ol_small)"; }
task_ol_field_2g() { ol_field log; }
task_ol_top() { ol_top "$(ol_small)"; }
task_ol_top_2g() { ol_top log; }
task_ol_between() { ol_between "$(ol_small)"; }
task_ol_between_2g() { ol_between log; }
task_ol_gsub() { ol_gsub "$(ol_small)"; }
task_ol_gsub_2g() { ol_gsub log; }
task_ol_gsub_ip() { ol_gsub_ip "$(ol_small)"; }
task_ol_gsub_ip_2g() { ol_gsub_ip log; }
MORE_TASKS="$MORE_TASKS ol_count ol_sum ol_field ol_top ol_between ol_gsub ol_gsub_ip"
MORE_TASKS="$MORE_TASKS ol_count_2g ol_sum_2g ol_field_2g ol_top_2g ol_between_2g ol_gsub_2g"
MORE_TASKS="$MORE_TASKS ol_gsub_ip_2g ol_csv ol_csv_parallel"
