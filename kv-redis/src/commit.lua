-- One commit to one store, atomic on the server (docs/design.md, "Redis").
-- KEYS[1] the store's hash, KEYS[2] its commit counter.
-- ARGV: channel, clear ("1"/"0"), n, then n reads (key, "1" present / "0" absent, value),
-- m, then m changes (key, "p" put / "d" delete, value), then the announcement's tail.
-- If a read key no longer holds the value the caller's copy held, nothing is written and the
-- reply is {0, seq, key, current value or nil, ...} for those keys, seq being the counter.
-- Otherwise the counter counts the commit, the changes apply (with the format marker beside an
-- expiring record), the announcement is published, and the reply is {1, seq}:
-- {2} when there was nothing to write.
local hash, counter = KEYS[1], KEYS[2]
local n = tonumber(ARGV[3])
local stale = {0, 0}
local i = 4
for _ = 1, n do
  local key, present, expected = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local current = redis.call('HGET', hash, key)
  if (present == '1' and current ~= expected) or (present == '0' and current ~= false) then
    stale[#stale + 1] = key
    stale[#stale + 1] = current
  end
  i = i + 3
end
if #stale > 2 then
  stale[2] = tonumber(redis.call('GET', counter) or '0') or 0
  return stale
end
local m = tonumber(ARGV[i])
i = i + 1
if m == 0 and ARGV[2] == '0' then
  return {2}
end
-- Counted first: a counter another program broke fails here, before anything is written
-- (a script is not rolled back), and a write that fails below leaves a gap in the counter,
-- which makes every copy read the store again.
local seq = redis.call('INCR', counter)
if ARGV[2] == '1' then
  redis.call('DEL', hash)
end
local expiring = false
for _ = 1, m do
  if ARGV[i + 1] == 'p' then
    redis.call('HSET', hash, ARGV[i], ARGV[i + 2])
    expiring = expiring or string.byte(ARGV[i + 2], 1) == 0
  else
    redis.call('HDEL', hash, ARGV[i])
  end
  i = i + 3
end
-- A record that carries an expiry (it starts with U+0000) needs the format marker beside it,
-- so that an older version refuses the store as newer. The caller's copy adds the marker when
-- it thinks the store lacks one; this catches a copy that has not yet seen another process
-- clear the store. (A copy that misses the marker here only writes it again.)
if expiring then
  redis.call('HSETNX', hash, '\0format', '2')
end
redis.call('PUBLISH', ARGV[1], '[' .. seq .. ARGV[i])
return {1, seq}
