#!/bin/sh
# test.sh BUILD -- what `make slurm-test` runs: a one-node Slurm cluster on
# localhost (cluster.sh, in a temporary directory), then the same tome.job
# scripts run plainly, through tome.parallel with 1 and 2 workers, and
# through tome-sbatch with N = 1, 2, 4 and 8 shards, compared byte for
# byte; then a shard killed with SIGKILL must fail the run, name the
# shard, and cancel the reduce.  The daemons are stopped by their PIDs on
# the way out, whatever happens (trap).
set -eu

BUILD=${1:-build}
HERE=$(cd "$(dirname "$0")" && pwd)
TOME=$(cd "$BUILD" && pwd)/tome
GEN=$(cd "$BUILD" && pwd)/gen_log
if [ ! -x "$TOME" ] || [ ! -x "$GEN" ]; then
  echo "slurm-test: build first" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ]; then
  echo "slurm-test: skipped: the test cluster's daemons need root"
  echo "0 passed, 0 failed"
  exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/tome-slurm-test.XXXXXX")
t0=$(date +%s)

finish() {
  rc=$?
  sh "$HERE/cluster.sh" stop "$T" || rc=1
  rm -f "$T"/*.log "$T"/*.gz
  if [ "$rc" -eq 0 ]; then rm -rf "$T"
  else echo "slurm-test: FAILED (logs in $T)" >&2; fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

passed=0
fail() { echo "slurm-test: $*" >&2; echo "$passed passed, 1 failed"; exit 1; }
ok() { passed=$((passed + 1)); }

sh "$HERE/cluster.sh" start "$T"
SLURM_CONF=$T/slurm.conf
export SLURM_CONF
echo "slurm-test: a one-node cluster ($(nproc) CPUs) is up after" \
  "$(( $(date +%s) - t0 )) s"

# {====== the inputs and the jobs ======
"$GEN" 6M "$T/a.log" > /dev/null
"$GEN" 2M "$T/b.log" > /dev/null
gzip -n < "$T/b.log" > "$T/b.log.gz"
: > "$T/empty.log"
printf '1.2.3.4 - - [x] "GET / HTTP/1.1" 503 7 "-" "-"\nno newline at the end' \
  > "$T/c.log"
FILES="$T/a.log $T/empty.log $T/b.log.gz $T/c.log"

# statuses (awk's $9) and bytes (awk's $10)
cat > "$T/status.lua" <<'LUA'
return tome.job{
  map = function(v)
    local t = { bytes = 0 }
    for st, b in v:fields(" ", 9, 10) do
      if st then t[st] = (t[st] or 0) + 1 end
      t.bytes = t.bytes + (math.tointeger(tonumber(b)) or 0)
    end
    return t
  end,
  reduce = function(a, b)
    for k, n in pairs(b) do a[k] = (a[k] or 0) + n end
    return a
  end,
  finish = function(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do print(k, t[k]) end
  end,
}
LUA
# the same through tome.parallel: tome par_status.lua WORKERS FILES...
cat > "$T/par_status.lua" <<'LUA'
local job = {}
function tome.job(spec) job = spec end    -- take status.lua's functions
dofile((arg[0]:gsub("par_status", "status")))
local files = { table.unpack(arg, 2) }
local t = tome.parallel(files, job.map, { workers = tonumber(arg[1]),
                                          reduce = job.reduce })
job.finish(t)
LUA
# the 5xx lines, printed by map, then their count
cat > "$T/grep5xx.lua" <<'LUA'
return tome.job{
  map = function(v)
    local n = 0
    for line in v:grep('" 5', true) do
      if line:find('" 5%d%d ') then print(line) n = n + 1 end
    end
    return n
  end,
  reduce = function(a, b) return a + b end,
  finish = function(n) print("5xx lines:", n) end,
}
LUA
cat > "$T/par_grep5xx.lua" <<'LUA'
local files = { table.unpack(arg, 2) }
local r = tome.parallel(files, function(v)
  local out, n = {}, 0
  for line in v:grep('" 5', true) do
    if line:find('" 5%d%d ') then out[#out + 1] = line .. "\n" n = n + 1 end
  end
  return { table.concat(out), n }
end, { workers = tonumber(arg[1]) })
local n = 0
for i = 1, r.n do io.write(r[i][1]) n = n + r[i][2] end
print("5xx lines:", n)
LUA
# status.lua, with shard 1 killed by SIGKILL
cat > "$T/killed.lua" <<LUA
if os.getenv("SLURM_ARRAY_TASK_ID") == "1" then os.execute("kill -9 \$PPID") end
return dofile("$T/status.lua")
LUA
# }======

# {====== the runs ======
# shellcheck disable=SC2086
for job in status grep5xx; do
  "$TOME" "$T/$job.lua" $FILES > "$T/$job.plain"
  [ -s "$T/$job.plain" ] || fail "$job: the plain run printed nothing"
  ok
  for w in 1 2; do
    "$TOME" "$T/par_$job.lua" "$w" $FILES > "$T/$job.par$w"
    cmp -s "$T/$job.plain" "$T/$job.par$w" ||
      fail "$job: tome.parallel with $w workers differs from the plain run"
    ok
  done
  for n in 1 2 4 8; do
    s=$(date +%s.%N)
    sh "$HERE/tome-sbatch" -N "$n" --tome "$TOME" --poll 0.2 \
      -d "$T/run-$job-$n" "$T/$job.lua" $FILES \
      > "$T/$job.slurm$n" 2> "$T/$job.slurm$n.err" ||
      { cat "$T/$job.slurm$n.err" >&2; fail "$job: tome-sbatch -N $n failed"; }
    cmp -s "$T/$job.plain" "$T/$job.slurm$n" ||
      fail "$job: Slurm with N = $n differs from the plain run"
    ok
    printf 'slurm-test: %-8s N = %d: same output (%s s)\n' "$job" "$n" \
      "$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
  done
done

# a killed shard: non-zero exit, the shard named, the reduce cancelled
# shellcheck disable=SC2086
if sh "$HERE/tome-sbatch" -N 4 --tome "$TOME" --poll 0.2 -d "$T/run-killed" \
    "$T/killed.lua" $FILES > "$T/killed.out" 2> "$T/killed.err"; then
  fail "a killed shard: tome-sbatch exited 0"
fi
[ ! -s "$T/killed.out" ] || fail "a killed shard: the reduce printed something"
grep -q "shard 1: FAILED" "$T/killed.err" ||
  { cat "$T/killed.err" >&2; fail "a killed shard: shard 1 is not named"; }
rid=$(sed -n 's/.*reduce: job \([0-9]*\);.*/\1/p' "$T/killed.err")
scontrol show job -o "$rid" | grep -q "JobState=CANCELLED" ||
  fail "a killed shard: the reduce (job $rid) was not cancelled"
[ ! -e "$T/run-killed/part-1" ] || fail "a killed shard left part-1"
ok
echo "slurm-test: a killed shard fails the run and cancels the reduce"
# }======

echo "slurm-test: passed in $(( $(date +%s) - t0 )) s"
echo "$passed passed, 0 failed"
