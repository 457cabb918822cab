-- spec/progress_spec.lua -- the progress line of long scans: shown in a
-- terminal (tmux), erased at the end, absent when stderr is not a terminal.
local H = require "spec.helpers"
local tome = require "tome"


-- a file of short lines, big enough to take a while with a slow body
local function lines_file(mb)
  local line = ("x"):rep(63) .. "\n"
  return H.tmpfile(line:rep(mb * 16384))
end

local function sleep(s) os.execute("sleep " .. s) end

describe("progress", function()
  after_each(H.cleanup)

  it("is off when standard error is not a terminal", function()
    -- under busted, stderr is a pipe or a file, never asked for a tty here
    local path = lines_file(9)
    local err = H.tmpname()
    local script = H.tmpfile("local m = tome.open(arg[1]) local n = 0 "
        .. "for l in m:lines() do for i = 1, 50 do n = n + i end end "
        .. "print(tome.progress(true))")
    local cmd = ("%s --progress %s %s 2>%s"):format(H.tome_bin(),
      H.shell_quote(script), H.shell_quote(path), H.shell_quote(err))
    local out, ok = H.run(cmd)
    assert.is_true(ok)
    assert.are.equal("false\n", out)
    assert.are.equal("", H.readfile(err))
  end)

  it("tome.progress(true) answers whether it will show", function()
    local was = tome.progress(true)
    assert.is_boolean(was)
    assert.is_false(tome.progress(false))
  end)

  it("shows bytes, percent, rate and time left in a terminal, then erases "
    .. "itself", function()
    if not H.have("tmux") then
      pending("tmux is not installed (make deps installs it)")
      return
    end
    local path = lines_file(12)
    local tmux = "tmux -S " .. H.shell_quote(H.tmpname(".tmux"))
    local script = H.tmpfile(
      "local m = tome.open(arg[1]) local n = 0\n" ..
      "for l in m:lines() do for i = 1, 1500 do n = n + i end end\n" ..
      "io.write('DONE\\n')\n")
    local cmd = ("%s --progress %s %s; sleep 60"):format(H.tome_bin(),
      H.shell_quote(script), H.shell_quote(path))
    os.execute(("%s new-session -d -x 100 -y 8 %s"):format(tmux,
      H.shell_quote(cmd)))
    local seen, final, last
    for _ = 1, 600 do
      sleep(0.1)
      local pane = H.run(tmux .. " capture-pane -p")
      last = pane
      if not seen and pane:find("%d+%.%d MB / 12%.0 MB +%d+%% +[%d.]+ %a+/s +%d+:%d%d left") then
        seen = pane
      end
      if pane:find("DONE") then
        final = pane
        break
      end
    end
    os.execute(tmux .. " kill-server 2>/dev/null")
    assert.is_truthy(seen, "no progress line seen; the pane:\n" .. tostring(last))
    assert.is_truthy(final, "the scan did not finish")
    assert.is_falsy(final:find("left"), "the progress line was not erased:\n"
      .. final)
  end)
end)
