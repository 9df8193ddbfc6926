-- Appended to every wrk script by bench/run: one machine-readable line after the human summary.
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d timeouts=%d status_errors=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.connect + e.read + e.write + e.status + e.timeout, e.timeout, e.status))
end
