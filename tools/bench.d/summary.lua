-- wrk script: when the run ends, print one tab-separated key=value line that
-- tools/bench records (wrk's own text output is kept for humans).
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH\trequests=%d\tduration_us=%d\tbytes=%d\tp50_us=%d\tp99_us=%d\t" ..
    "err_connect=%d\terr_read=%d\terr_write=%d\terr_status=%d\terr_timeout=%d\n",
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
