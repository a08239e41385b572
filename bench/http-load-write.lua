-- wrk script of bench/http-load.sh: POST …/messages/responses, each request
-- with its own Idempotency-Key (round, wrk thread, counter), cycling over the
-- prospects that have a conversation. Arguments: round, prospect count.
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  round = args[1] or "0"
  prospects = tonumber(args[2] or "1000")
  counter = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local n = counter % prospects
  wrk.headers["Idempotency-Key"] = string.format("bench-%s-%d-%d", round, tid, counter)
  -- The generator's prospect ids: format!("{:024x}", 0xb0d1_0000_0000 + n).
  local body = string.format('{"prospectId":"000000000000b0d1%08x","message":"Thanks for your note, %d"}', n, counter)
  return wrk.format(nil, nil, nil, body)
end
