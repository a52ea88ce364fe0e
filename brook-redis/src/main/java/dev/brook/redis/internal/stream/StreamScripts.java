package dev.brook.redis.internal.stream;

import dev.brook.redis.internal.Script;

/** The Lua scripts of a Stream-group consumer: claiming pending entries and settling a batch. */
final class StreamScripts {

  private StreamScripts() {}

  /**
   * Claims pending entries: this consumer's own (min idle 0: only if it still owns them) or any
   * consumer's idle at least min idle. Returns per entry {id, attempt, fields, over}: over = 1 when
   * it already had maxDeliveries attempts (not claimed: it goes to the dead letter), else it was
   * claimed (XCLAIM counts the attempt). Entries deleted from the stream are acknowledged. Entries
   * parked for a per-key limit ({@link StreamParking}) are never taken for being idle.
   */
  static final Script CLAIM = new Script("""
      local key, group, me = KEYS[1], ARGV[1], ARGV[2]
      local minIdle, max = tonumber(ARGV[3]), tonumber(ARGV[4])
      local out, claim, counts = {}, {}, {}
      for i = 5, #ARGV do
        local id = ARGV[i]
        local p = redis.call('XPENDING', key, group, id, id, 1)[1]
        if p and ((minIdle == 0 and p[2] == me)
            or (minIdle > 0 and p[3] >= minIdle and string.sub(p[2], 1, 13) ~= 'brook-parked:')) then
          if p[4] >= max then
            local e = redis.call('XRANGE', key, id, id)[1]
            if e then
              out[#out + 1] = {id, p[4], e[2], 1}
            else
              redis.call('XACK', key, group, id)
            end
          else
            claim[#claim + 1] = id
            counts[id] = p[4] + 1
          end
        end
      end
      if #claim > 0 then
        local got = {}
        for _, e in ipairs(redis.call('XCLAIM', key, group, me, minIdle, unpack(claim))) do
          if e then
            got[e[1]] = true
            out[#out + 1] = {e[1], counts[e[1]], e[2], 0}
          end
        end
        for _, id in ipairs(claim) do
          if not got[id] then
            redis.call('XACK', key, group, id)
          end
        end
      end
      return out
      """);

  /**
   * One batch of settlements: {@code a id} acknowledges (one XACK for all, plus XDEL with
   * deleteOnAck), {@code i id ttl:messageId} acknowledges and records the message id in the done
   * set KEYS[3] until Redis' now + ttl (idempotent consumers; expired ids are pruned here), {@code d id value} dead-letters (XADD to KEYS[2] only if XACK still found it
   * pending, so a batch sent twice writes one dead letter), {@code r id n} gives back an entry
   * delivered as attempt n, if this consumer still owns it at that count: the counter goes back to
   * n-1 and it is made idle, so any consumer may take it. {@code s spec} releases a per-key slot
   * ({@link dev.brook.redis.internal.jobs.KeySlots#releaseSpec}; KEYS[4] the group's slotwait set)
   * and, when a parked entry of its key may run now, marks the key due: the answer is then -1.
   */
  static final Script SETTLE = new Script("local group, me = ARGV[1], ARGV[2]\n" + StreamParking.FUNCTIONS
      + dev.brook.redis.internal.jobs.KeySlots.RELEASE_LUA + """
      local key, group, me = KEYS[1], ARGV[1], ARGV[2]
      local del, idle = ARGV[3] == '1', ARGV[4]
      local acks, now = {}, nil
      local i = 5
      while i <= #ARGV do
        local op, id = ARGV[i], ARGV[i + 1]
        if op == 'a' then
          acks[#acks + 1] = id
          i = i + 2
        elseif op == 'i' then
          acks[#acks + 1] = id
          local r = ARGV[i + 2]
          local c = string.find(r, ':', 1, true)
          if not now then
            local t = redis.call('TIME')
            now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
          end
          redis.call('ZADD', KEYS[3], now + tonumber(string.sub(r, 1, c - 1)), string.sub(r, c + 1))
          i = i + 3
        elseif op == 'd' then
          if redis.call('XACK', key, group, id) == 1 then
            redis.call('XADD', KEYS[2], '*', '__data__', ARGV[i + 2])
          end
          if del then
            redis.call('XDEL', key, id)
          end
          i = i + 3
        elseif op == 's' then
          if not now then
            local t = redis.call('TIME')
            now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
          end
          releaseSpec(key, KEYS[4], id, now)
          i = i + 2
        else
          local p = redis.call('XPENDING', key, group, id, id, 1)[1]
          local count = tonumber(ARGV[i + 2])
          if p and p[2] == me and p[4] == count then
            redis.call('XCLAIM', key, group, me, 0, id, 'IDLE', idle, 'RETRYCOUNT', count - 1, 'JUSTID')
          end
          i = i + 3
        end
      end
      for j = 1, #acks, 1000 do
        local last = math.min(j + 999, #acks)
        redis.call('XACK', key, group, unpack(acks, j, last))
        if del then
          redis.call('XDEL', key, unpack(acks, j, last))
        end
      end
      if now then redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now) end
      if woke then return -1 end
      return #acks
      """);

  /**
   * Keeps nacked entries waiting for their back-off from looking idle: each id (ARGV after group
   * and consumer) still pending for this consumer is claimed again by it with {@code JUSTID}, which
   * resets its idle time without counting an attempt. Without it, another consumer's takeover
   * ({@code XPENDING IDLE minIdle}) would take an entry whose back-off is longer than {@code
   * minIdle} before that back-off passed. Entries another consumer owns are left alone. Returns how
   * many were touched.
   */
  static final Script TOUCH = new Script("""
      local key, group, me = KEYS[1], ARGV[1], ARGV[2]
      local args, n = {'XCLAIM', key, group, me, 0}, 0
      for i = 3, #ARGV do
        local p = redis.call('XPENDING', key, group, ARGV[i], ARGV[i], 1)[1]
        if p and p[2] == me then
          args[#args + 1] = ARGV[i]
          n = n + 1
        end
      end
      if n > 0 then
        -- JUSTID: the attempt is not counted; only the idle time starts again
        args[#args + 1] = 'JUSTID'
        redis.call(unpack(args))
      end
      return n
      """);

  /**
   * Claims every entry of a parking consumer (ARGV group, parking consumer, this consumer) to this
   * consumer, keeping their counts ({@code JUSTID}), and deletes the parking consumer once it holds
   * nothing. Entries deleted from the stream leave the pending list on the way. Returns how many.
   */
  static final Script UNPARK_ALL = new Script(StreamParking.JUST_IDS + """
      local key, group, parker, me = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
      local n = 0
      for _ = 1, 1000 do
        local p = redis.call('XPENDING', key, group, '-', '+', 100, parker)
        if #p == 0 then
          redis.call('XGROUP', 'DELCONSUMER', key, group, parker)
          break
        end
        local ids = {}
        for _, e in ipairs(p) do ids[#ids + 1] = e[1] end
        local got = justIds(key, group, me, ids)
        n = n + #got
        if #got < #ids then
          local back = {}
          for _, id in ipairs(got) do back[id] = true end
          for _, id in ipairs(ids) do
            if not back[id] then redis.call('XACK', key, group, id) end
          end
        end
      end
      return n
      """);
}
