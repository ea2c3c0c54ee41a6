-- Token bucket: take n tokens from the bucket KEYS[1], or say when they will be there.
--
-- ARGV[1] rate, tokens per second (a positive float)
-- ARGV[2] burst, the bucket's capacity (an integer >= 1)
-- ARGV[3] n, tokens to take (1 <= n <= burst; the caller checks)
--
-- The bucket is a hash: tk, the tokens left after the last take (a float),
-- and ts, when that was, in microseconds of Redis's clock. A missing bucket
-- is a full one, so the key expires as soon as the bucket would be full
-- again. The rate and burst are not stored: the caller's limit applies to the
-- time since the last take, so a lowered rate takes effect at once.
--
-- Returns {allowed (1 or 0), whole tokens left, microseconds until n tokens}.

-- Before Redis 5, writing after the non-deterministic TIME needs effects
-- replication; since then it is the only mode and this does nothing.
if redis.replicate_commands then redis.replicate_commands() end

local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local n = tonumber(ARGV[3])

-- Redis's clock, not the callers': processes with skewed clocks agree.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local tokens = burst
local stepped_back = false
local state = redis.call('HMGET', KEYS[1], 'tk', 'ts')
local last_tokens, last = tonumber(state[1]), tonumber(state[2])
if last_tokens and last then
  local elapsed = now - last
  if elapsed < 0 then
    -- The clock went back (a failover to a server whose clock is behind):
    -- refill nothing, and count from now on so the bucket does not stall.
    elapsed = 0
    stepped_back = true
  end
  tokens = math.min(burst, last_tokens + elapsed * rate / 1000000)
end

-- Longest expiry and wait, about 31 years: they bound what tiny rates give.
local max_ms = 1e12

local allowed, wait = 1, 0
if tokens >= n then
  tokens = tokens - n
else
  allowed = 0
  wait = math.min(math.ceil((n - tokens) * 1000000 / rate), max_ms * 1000)
  if not stepped_back then
    -- Nothing taken and nothing to correct: leave the bucket as it is.
    return {allowed, math.floor(tokens), wait}
  end
end

-- The key lives until the bucket is full again. Numbers are formatted by
-- hand: Lua would print 14 digits, too few for microseconds since 1970.
local full_in = math.min(math.ceil((burst - tokens) * 1000 / rate), max_ms)
redis.call('HSET', KEYS[1], 'tk', string.format('%.17g', tokens), 'ts', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.max(full_in, 1)))
return {allowed, math.floor(tokens), wait}
