-- wrk script: requests the paths listed in a file (one a line), in turn.
-- wrk -c 50 -d 10s -s bench/paths.lua http://127.0.0.1:18081 -- /tmp/paths.txt
local paths = {}
local i = 0

init = function(args)
  for line in io.lines(args[1]) do
    paths[#paths + 1] = line
  end
  i = math.random(#paths)
end

request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0"})
end
