-- wrk script: requests the paths listed in a file (one a line), in turn.
-- wrk -c 50 -d 10s -s bench/paths.lua http://127.0.0.1:18081 -- /tmp/paths.txt
-- The requests are formatted once, at start: formatting each one in Lua
-- cost wrk a fifth of the machine's CPU, which the server then lacked.
local requests = {}
local i = 0

init = function(args)
  local headers = {["User-Agent"] = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0"}
  for line in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("GET", line, headers)
  end
  i = math.random(#requests)
end

request = function()
  i = i % #requests + 1
  return requests[i]
end
