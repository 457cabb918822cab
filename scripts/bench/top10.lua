-- print the 10 largest of a table of counts as "count<TAB>key" lines,
-- largest first (ties by key), keeping the 10 in order as the table is
-- walked, without sorting every key: dofile(".../top10.lua")(counts)
return function(counts)
  local top = {}
  local function before(a, b)
    if counts[a] ~= counts[b] then return counts[a] > counts[b] end
    return a < b
  end
  for k in pairs(counts) do
    if #top < 10 or before(k, top[#top]) then
      local i = #top < 10 and #top + 1 or #top
      while i > 1 and before(k, top[i - 1]) do
        top[i] = top[i - 1]
        i = i - 1
      end
      top[i] = k
    end
  end
  for _, k in ipairs(top) do print(counts[k], k) end
end
