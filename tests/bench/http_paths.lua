-- wrk script of run-http.sh: requests the paths listed in a file.
--
--   wrk -t T -c C -d D -s http_paths.lua URL -- FILE [cycle|once] [T]
--
-- FILE: one path a line, optionally followed by a tab and an ETag, which is
-- then sent as If-None-Match.
-- cycle (default): each wrk thread walks the whole list in turn, over and
--   over (its connections take the next path each; threads start at
--   different offsets). No response parsing (it would slow wrk down).
-- once: the list is dealt to the T threads (path i to thread i mod T: wrk
--   threads each have their own Lua state and share nothing), each path is
--   requested exactly once; a thread stops when all its paths are answered.
--   tiles/s counts the responses over the time from the first request to
--   the last response (CLOCK_MONOTONIC), not wrk's duration.
-- done() prints one line "RESULT key=value ..." for run-http.sh.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } zs_timespec;
int clock_gettime(int clk, zs_timespec *ts);
]]
local ts = ffi.new("zs_timespec")
local function now()
   ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC: comparable across threads
   return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- setup and done run in wrk's main Lua state
local threads = {}
function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads) -- 1-based, read by init() in the thread's state
end

-- init, request, delay and response run in each thread's own state
function init(args)
   local file, nthreads = args[1], tonumber(args[3] or 1)
   mode = args[2] or "cycle"
   reqs = {}
   local i = 0
   for line in io.lines(file) do
      local path, etag = line:match("^([^\t]+)\t?(.*)$")
      if path then
         if mode ~= "once" or i % nthreads == id - 1 then
            local headers = {}
            if etag ~= "" then headers["If-None-Match"] = etag end
            reqs[#reqs + 1] = wrk.format("GET", path, headers)
         end
         i = i + 1
      end
   end
   n, nlisted = 0, #reqs
   if mode == "cycle" then
      n = math.floor((id - 1) * #reqs / nthreads)
      response = nil -- wrk skips parsing responses when there is no response()
      delay = nil
   else
      -- wrk 4.1 calls request() once in its first thread after init() to
      -- look for pipelining, and does not send that request: give it a
      -- stand-in (if it is ever sent it is not a tile and is not counted)
      healthz = wrk.format("GET", "/healthz")
      standin = id == 1 and healthz or nil
      ok, failed, t_first, t_last = 0, 0, nil, nil
   end
end

function request()
   if standin then
      local r = standin
      standin = nil
      return r
   end
   n = n + 1
   if mode == "cycle" then return reqs[(n - 1) % #reqs + 1] end
   if n == 1 then t_first = now() end
   -- two connections can pass delay() before either takes the last path:
   -- the later one gets a request that is not a tile (and is not counted)
   if n > #reqs then return healthz end
   return reqs[n]
end

-- once: a connection that finds the list used up waits (for the thread to stop)
function delay()
   if n >= #reqs then return 3600 * 1000 end
   return 0
end

function response(status, headers, body)
   if status == 200 and headers["Content-Type"] ~= "image/png" then return end -- /healthz
   if status == 200 then ok = ok + 1 else failed = failed + 1 end
   t_last = now()
   if ok + failed >= #reqs then wrk.thread:stop() end
end

function done(summary, latency, requests)
   local e = summary.errors
   local s = summary.duration / 1e6
   local line = string.format(
      "RESULT requests=%d duration_s=%.3f rps=%.1f bytes=%d bytes_per_req=%.0f " ..
      "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d " ..
      "lat_mean_ms=%.3f lat_p50_ms=%.3f lat_p90_ms=%.3f lat_p99_ms=%.3f lat_max_ms=%.3f",
      summary.requests, s, summary.requests / s, summary.bytes,
      summary.bytes / math.max(summary.requests, 1),
      e.connect, e.read, e.write, e.status, e.timeout,
      latency.mean / 1e3, latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
      latency:percentile(99) / 1e3, latency.max / 1e3)
   if threads[1]:get("mode") == "once" then
      local ok, failed, listed, t0, t1 = 0, 0, 0, math.huge, 0
      for _, t in ipairs(threads) do
         ok = ok + (t:get("ok") or 0)
         failed = failed + (t:get("failed") or 0)
         listed = listed + (t:get("nlisted") or 0)
         t0 = math.min(t0, t:get("t_first") or math.huge)
         t1 = math.max(t1, t:get("t_last") or 0)
      end
      local span = t1 > t0 and t1 - t0 or 0
      line = line .. string.format(
         " listed=%d tiles_ok=%d tiles_failed=%d span_s=%.3f tiles_per_s=%.1f",
         listed, ok, failed, span, span > 0 and ok / span or 0)
   end
   io.write(line .. "\n")
end
