-- Appended to every benchmark's wrk script: the figures as one JSON line. wrk gives percentiles, not
-- counts, so the answers slower than a limit are found by bisecting for the percentile at the limit.
local function slower_than(latency, limit_us, total)
  if latency.max <= limit_us then return 0 end
  local lo, hi = 0, 100
  for _ = 1, 50 do
    local mid = (lo + hi) / 2
    if latency:percentile(mid) > limit_us then hi = mid else lo = mid end
  end
  return math.max(1, math.floor((100 - hi) / 100 * total + 0.5))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50": %.1f, "p95": %.1f, "p99": %.1f, "max": %.1f, ' ..
    '"over_1s": %d, "over_5s": %d, "errors": %d, "status": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, slower_than(latency, 1e6, summary.requests),
    slower_than(latency, 5e6, summary.requests), e.connect + e.read + e.write + e.timeout, e.status))
end
