package dev.brook.testing;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.CommandOutput;

/**
 * Any Redis reply as plain Java values, for {@link RedisServer#command(String...)}: {@code String} for simple and
 * bulk strings (UTF-8), {@code Long} for integers, {@code List<Object>} for arrays, sets and pushes, {@code Map} for
 * RESP3 maps (in the server's order), {@code Double}, {@code Boolean} and {@code BigInteger} for the RESP3 scalars,
 * {@code null} for nil. Lettuce's decoder calls {@code multi*} when an aggregate begins and one setter per element;
 * an aggregate ends when it has received the count it announced.
 */
final class ReplyOutput extends CommandOutput<String, String, Object> {

    /** An aggregate being filled: a list, or a map whose pending key waits for its value. */
    private static final class Aggregate {
        final int expected; // elements, a map's keys and values counted separately
        final List<Object> list;
        final Map<Object, Object> map;
        int received;
        Object key;

        Aggregate(int expected, boolean map) {
            this.expected = expected;
            this.list = map ? null : new ArrayList<>(Math.min(expected, 1024));
            this.map = map ? new LinkedHashMap<>() : null;
        }

        void add(Object value) {
            if (map == null) {
                list.add(value);
            } else if (received % 2 == 0) {
                key = value;
            } else {
                map.put(key, value);
            }
            received++;
        }

        boolean full() {
            return received >= expected;
        }

        Object value() {
            return map == null ? list : map;
        }
    }

    private final Deque<Aggregate> open = new ArrayDeque<>();

    ReplyOutput() {
        super(StringCodec.UTF8, null);
    }

    @Override
    public void set(ByteBuffer bytes) {
        value(bytes == null ? null : decodeString(bytes));
    }

    @Override
    public void setSingle(ByteBuffer bytes) {
        value(bytes == null ? null : decodeString(bytes));
    }

    @Override
    public void setBigNumber(ByteBuffer bytes) {
        value(bytes == null ? null : new BigInteger(decodeString(bytes)));
    }

    @Override
    public void set(long integer) {
        value(integer);
    }

    @Override
    public void set(double number) {
        value(number);
    }

    @Override
    public void set(boolean value) {
        value(value);
    }

    @Override
    public void multi(int count) {
        begin(count, false);
    }

    @Override
    public void multiArray(int count) {
        begin(count, false);
    }

    @Override
    public void multiSet(int count) {
        begin(count, false);
    }

    @Override
    public void multiPush(int count) {
        begin(count, false);
    }

    @Override
    public void multiMap(int count) {
        begin(count < 0 ? count : count * 2, true);
    }

    private void begin(int count, boolean map) {
        if (count < 0) {
            value(null); // a nil array (RESP2 "*-1")
        } else if (count == 0) {
            value(map ? new LinkedHashMap<>() : new ArrayList<>());
        } else {
            open.push(new Aggregate(count, map));
        }
    }

    private void value(Object value) {
        Object v = value;
        while (true) {
            Aggregate top = open.peek();
            if (top == null) {
                output = v;
                return;
            }
            top.add(v);
            if (!top.full()) {
                return;
            }
            open.pop();
            v = top.value();
        }
    }
}
