package dev.brook.redis.internal.list;

import dev.brook.redis.internal.Script;

/** The Lua scripts of a reliable List: the batch move, settlement, the stop's give-back and recovery. */
final class ListScripts {

  private ListScripts() {}

  /**
   * Moves up to ARGV[1] items from the queue head to the processing list tail, in order. Three
   * calls for the whole batch: a script looping LMOVE costs Redis about 1 µs of script overhead
   * per item, more than the move itself.
   */
  static final Script MOVE_N = new Script("""
      local items = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
      if #items == 0 then return items end
      redis.call('LTRIM', KEYS[1], #items, -1)
      redis.call('RPUSH', KEYS[2], unpack(items))
      return items""");

  /**
   * A batch of settlements. KEYS: processing list, queue, dead letter, delayed set, done set. ARGV: triples
   * (op, value, new value): A ack, I ack and record the id as done (new value {@code <ttl ms>:<message id>}:
   * a score of Redis' now + ttl in the done set, KEYS[5], whose expired ids the same call prunes), Q requeue (the new value to the queue head), D dead letter (the
   * new value to the dead letter), X drop, R retry (the new value is {@code <delay ms>:<member>}: the
   * member goes to the delayed set, due at the server's time plus the delay). Q, D and X act only when the value is still in the processing list
   * (recovered meanwhile: another consumer has it). Acks come last: they usually are the head of the
   * processing list (settled about in the order fetched), and those are trimmed off in a few calls;
   * the rest are removed one LREM each. With {@code concurrencyPerKey}, an op is followed by
   * {@code <max>\n<member>\n<key>} ({@link dev.brook.redis.internal.jobs.KeySlots#releaseSpec}): the
   * message's slot is released in the same call (KEYS[6] the list's slotwait set), whether or not
   * the value was still in the processing list, since the slot is this consumer's either way.
   */
  static final Script SETTLE = new Script(dev.brook.redis.internal.jobs.KeyLimiter.LIST_PARKING
      + dev.brook.redis.internal.jobs.KeySlots.RELEASE_LUA + """
      local p = KEYS[1]
      local want, acks, now = {}, 0, nil
      for i = 1, #ARGV, 3 do
        local op = ARGV[i]
        if #op > 1 then
          local spec = string.sub(op, 2)
          op = string.sub(op, 1, 1)
          if not now then
            local t = redis.call('TIME')
            now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
          end
          releaseSpec(KEYS[2], KEYS[6], spec, now)
        end
        if op == 'A' or op == 'I' then
          want[ARGV[i + 1]] = (want[ARGV[i + 1]] or 0) + 1
          acks = acks + 1
          if op == 'I' then
            local r = ARGV[i + 2]
            local c = string.find(r, ':', 1, true)
            if not now then
              local t = redis.call('TIME')
              now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
            end
            redis.call('ZADD', KEYS[5], now + tonumber(string.sub(r, 1, c - 1)), string.sub(r, c + 1))
          end
        elseif redis.call('LREM', p, 1, ARGV[i + 1]) > 0 then
          if op == 'Q' then redis.call('LPUSH', KEYS[2], ARGV[i + 2])
          elseif op == 'D' then redis.call('RPUSH', KEYS[3], ARGV[i + 2])
          elseif op == 'R' then
            local nv = ARGV[i + 2]
            local c = string.find(nv, ':', 1, true)
            local m = string.sub(nv, c + 1)
            local t = redis.call('TIME')
            local due = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(string.sub(nv, 1, c - 1))
            redis.call('ZADD', KEYS[4], due, m)
            if redis.call('ZRANGE', KEYS[4], 0, 0)[1] == m then redis.call('SPUBLISH', KEYS[4], due) end
          end
        end
      end
      while acks > 0 do
        local head = redis.call('LRANGE', p, 0, math.min(acks, 100) - 1)
        local k = 0
        for _, v in ipairs(head) do
          local c = want[v]
          if c == nil or c == 0 then break end
          want[v] = c - 1
          k = k + 1
        end
        if k == 0 then break end
        redis.call('LTRIM', p, k, -1)
        acks = acks - k
        if k < #head then break end
      end
      if acks > 0 then
        for v, c in pairs(want) do
          if c > 0 then redis.call('LREM', p, c, v) end
        end
      end
      if now then redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now) end
      return 1""");


  /**
   * The stop's give-back: the processing list back to the queue head, in the order it holds (the
   * order fetched). KEYS: processing list, queue. ARGV[1]: n; then n pairs (value, new value) for
   * nacked items going back with their delivery count; then values that stay (still held by a
   * handler that ignored the interrupt). Returns how many went back.
   */
  static final Script GIVE_BACK = new Script("""
      local items = redis.call('LRANGE', KEYS[1], 0, -1)
      if #items == 0 then return 0 end
      local n = tonumber(ARGV[1])
      local swap, keep = {}, {}
      for i = 0, n - 1 do
        local old = ARGV[2 + 2 * i]
        swap[old] = swap[old] or {}
        table.insert(swap[old], ARGV[3 + 2 * i])
      end
      for i = 2 + 2 * n, #ARGV do keep[ARGV[i]] = (keep[ARGV[i]] or 0) + 1 end
      local back, stay = {}, {}
      for _, v in ipairs(items) do
        local k = keep[v]
        if k ~= nil and k > 0 then
          keep[v] = k - 1
          stay[#stay + 1] = v
        else
          local s = swap[v]
          if s ~= nil and #s > 0 then v = table.remove(s) end
          back[#back + 1] = v
        end
      end
      redis.call('DEL', KEYS[1])
      for i = 1, #stay, 1000 do redis.call('RPUSH', KEYS[1], unpack(stay, i, math.min(i + 999, #stay))) end
      local rev = {}
      for i = #back, 1, -1 do rev[#rev + 1] = back[i] end
      for i = 1, #rev, 1000 do redis.call('LPUSH', KEYS[2], unpack(rev, i, math.min(i + 999, #rev))) end
      return #back""");

  /** A dead consumer's processing list back to the queue head, keeping its order. */
  static final Script RECOVER = new Script("""
      local n = 0
      while redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT') do n = n + 1 end
      return n""");
}
