/**
 * The wrk Lua scripts of the benchmark, generated as text. Every script counts response
 * statuses per thread in `response()` (so the baseline pays the same client-side cost) and
 * prints one `BENCH_JSON {...}` line from `done()` with the totals, latency percentiles (µs)
 * and the status breakdown.
 */

/** A Lua string literal (the strings we embed are ASCII; JSON escaping is valid Lua here). */
const lua = (s: string) => JSON.stringify(s)
const luaList = (items: string[]) => `{\n${items.map((s) => `  ${lua(s)},`).join('\n')}\n}`

const common = `
local threads = {}
local thread_count = 0
function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
  table.insert(threads, thread)
end

statuses = {}
local function count(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(merged) do parts[#parts + 1] = string.format('"%s":%.0f', tostring(k), v) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,' ..
    '"errors":{"connect":%.0f,"read":%.0f,"write":%.0f,"status":%.0f,"timeout":%.0f},' ..
    '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"p999":%.0f,"max":%.0f,"mean":%.1f},"statuses":{%s}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean, table.concat(parts, ",")))
end
`

/** GET `path` with a constant header set (no rotation): the baseline and scenario (b). */
export function constantGet(path: string, headers: Record<string, string> = {}): string {
  const h = Object.entries(headers).map(([k, v]) => `[${lua(k)}] = ${lua(v)}`).join(', ')
  return `${common}
local req = nil
function request()
  if not req then req = wrk.format("GET", ${lua(path)}, { ${h} }) end
  return req
end

function response(status, headers, body)
  count(status)
end
`
}

/**
 * GET `path` with the `authorization` header rotating over `keys`; each thread starts at its
 * own offset so the threads do not walk the list in lockstep. Every request is formatted once,
 * up front, as the baseline's one request is: formatting per request cost wrk about a tenth
 * of its throughput, and wrk shares the machine's two cores with the server.
 */
export function rotatingGet(path: string, keys: string[]): string {
  return `${common}
local keys = ${luaList(keys)}
local n = #keys
local i = 0
local requests = {}
function init(args)
  for j = 1, n do
    requests[j] = wrk.format("GET", ${lua(path)}, { ["authorization"] = keys[j] })
  end
  -- golden-ratio offsets spread any number of threads over the list
  i = math.floor((((tid or 0) * 0.6180339887) % 1) * n)
end

function request()
  i = i % n + 1
  return requests[i]
end

function response(status, headers, body)
  count(status)
end
`
}

/**
 * Scenario (d): POST /apikey/ creates a key; response() takes the id out of the 201 body and
 * the thread's next request DELETEs it, so requests alternate create / delete.
 */
export function createThenDelete(key: string): string {
  return `${common}
local auth = ${lua(key)}
local body = ${lua(JSON.stringify({ name: 'bench create-delete', mode: 'read' }))}
local pending = {}
posts = 0
deletes = 0

function request()
  local id = table.remove(pending)
  if id then
    deletes = deletes + 1
    return wrk.format("DELETE", "/apikey/" .. id .. "/", { ["authorization"] = auth })
  end
  posts = posts + 1
  return wrk.format("POST", "/apikey/", { ["authorization"] = auth, ["content-type"] = "application/json" }, body)
end

function response(status, headers, body)
  count(status)
  if status == 201 then
    local id = string.match(body, '"id"%s*:%s*(%d+)')
    if id then pending[#pending + 1] = id end
  end
end
`
}
