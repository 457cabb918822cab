-- spec/cpus_spec.lua -- tome.cpus() and tome.parallel's default worker
-- count: the CPUs this process may run on (sched_getaffinity, as nproc
-- counts them), capped by SLURM_CPUS_PER_TASK.
local H = require "spec.helpers"

local tome_bin = H.tome_bin()
-- how many distinct worker states ran the 64 chunks of a parallel call
local distinct = [==[
local ids = tome.parallel(tome.wrap(("x\n"):rep(64)), function()
  local t0 = os.clock() while os.clock() - t0 < 0.002 do end
  ID = ID or tostring({})
  return ID
end, { chunks = 64 })
local seen, n = {}, 0
for i = 1, ids.n do if not seen[ids[i]] then seen[ids[i]] = true n = n + 1 end end
print(tome.cpus(), n)]==]

local function run(prefix)
  local out, err, code = H.sh(prefix .. " " .. H.shell_quote(tome_bin)
    .. " -e " .. H.shell_quote(distinct))
  assert.are.equal(0, code, err)
  local cpus, workers = out:match("^(%d+)%s+(%d+)")
  return tonumber(cpus), tonumber(workers)
end

describe("tome.cpus", function()
  after_each(H.cleanup)

  it("counts the CPUs of the affinity mask, as nproc does", function()
    local nproc = tonumber((H.run("nproc")))
    local cpus = run("env -u SLURM_CPUS_PER_TASK")
    assert.are.equal(nproc, cpus)
    if H.have("taskset") then
      local one, workers = run("env -u SLURM_CPUS_PER_TASK taskset -c 0")
      assert.are.equal(1, one)
      assert.are.equal(1, workers)   -- tome.parallel's default follows it
    end
  end)

  it("is capped by SLURM_CPUS_PER_TASK, and ignores nonsense there", function()
    local nproc = tonumber((H.run("nproc")))
    local one, workers = run("SLURM_CPUS_PER_TASK=1")
    assert.are.equal(1, one)
    assert.are.equal(1, workers)
    assert.are.equal(nproc, (run("SLURM_CPUS_PER_TASK=4096")))
    assert.are.equal(nproc, (run("SLURM_CPUS_PER_TASK=two")))
    assert.are.equal(nproc, (run("SLURM_CPUS_PER_TASK=0")))
  end)
end)
