-- total bytes sent (awk's $10) as a tome.job: `tome job_sum_bytes.lua
-- FILE...` on all cores, or as shards (--shard, tome-sbatch)
return tome.job{
  map = function(v)
    local s = 0
    for bytes in v:fields(" ", 10, "n") do s = s + (bytes or 0) end
    return s
  end,
  reduce = function(a, b) return a + b end,
  finish = function(s) print(s) end,
}
