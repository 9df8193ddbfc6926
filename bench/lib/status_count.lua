-- bench/soak --long: counts responses by status class in every wrk thread and prints one line at the
-- end, so non-2xx answers (not only wrk's >= 400 "status errors") count as failed requests.
local threads = {}

setup = function(thread)
   table.insert(threads, thread)
end

-- The first script argument (after --) is a pause in ms before each request on a connection, so wrk
-- does not take a whole core: the soak is after leaks, not throughput.
init = function(args)
   ok, bad = 0, 0
   pause = tonumber(args[1]) or 0
end

delay = function()
   return pause
end

response = function(status, headers, body)
   if status >= 200 and status < 300 then ok = ok + 1 else bad = bad + 1 end
end

done = function(summary, latency, requests)
   local good, nonok = 0, 0
   for _, t in ipairs(threads) do
      good = good + t:get("ok")
      nonok = nonok + t:get("bad")
   end
   local e = summary.errors
   io.write(string.format("SOAK requests=%d ok=%d non2xx=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, good, nonok, e.connect, e.read, e.write, e.timeout))
end
