package dev.brook.redis.internal.pubsub;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The RESP3 that a subscribed connection receives, read from a blocking stream through one buffer
 * of its own: type bytes, integer lines, bulk strings (into a {@code byte[]} of their exact size, one
 * copy from the buffer, or skipped without being held), and any other value skipped whole. Every
 * length and nesting depth is bounded, so hostile or garbled bytes end in a {@link ProtocolException}
 * (the caller drops the connection) and never in a huge allocation or an endless read.
 *
 * <p>Not thread-safe: one reader thread per connection.
 */
final class RespReader {

  /** Bytes that are not RESP3 as Redis sends it, or a value beyond the bounds below. */
  static final class ProtocolException extends IOException {
    ProtocolException(String message) {
      super(message);
    }
  }

  /** Redis' own proto-max-bulk-len is at most 4 GiB; a larger length is garbage. */
  static final long MAX_BULK = 1L << 32;
  /** Aggregates a subscribed connection gets are small (a push has 3 or 4 parts, HELLO's map 7 pairs). */
  static final long MAX_AGGREGATE = 1 << 20;
  /** Simple strings and errors: longer ones are garbage. */
  static final int MAX_LINE = 64 * 1024;
  private static final int MAX_DEPTH = 16;

  private final InputStream in;
  private final byte[] buf;
  private int pos;
  private int limit;
  /** The channel of the last message, handed out again while it repeats (no new array per message). */
  private byte[] lastChannel = new byte[0];

  RespReader(InputStream in, int bufferSize) {
    this.in = in;
    this.buf = new byte[bufferSize];
  }

  private void fill() throws IOException {
    int n = in.read(buf, 0, buf.length);
    if (n <= 0) {
      throw new EOFException("the server closed the connection");
    }
    pos = 0;
    limit = n;
  }

  /** The next byte (a type byte, for the caller). */
  int read() throws IOException {
    if (pos == limit) {
      fill();
    }
    return buf[pos++] & 0xff;
  }

  /** An integer line's value, after its type byte, through its CRLF. */
  long integerLine() throws IOException {
    long v = 0;
    int digits = 0;
    boolean negative = false;
    int c = read();
    if (c == '-') {
      negative = true;
      c = read();
    }
    while (c != '\r') {
      if (c < '0' || c > '9' || ++digits > 18) {
        throw new ProtocolException("expected a number, got " + describe(c));
      }
      v = v * 10 + (c - '0');
      c = read();
    }
    expectLf();
    if (digits == 0) {
      throw new ProtocolException("expected a number, got an empty line");
    }
    return negative ? -v : v;
  }

  private void expectLf() throws IOException {
    int c = read();
    if (c != '\n') {
      throw new ProtocolException("expected LF after CR, got " + describe(c));
    }
  }

  /** An aggregate's element count after its type byte; within {@link #MAX_AGGREGATE}. */
  long count() throws IOException {
    long n = integerLine();
    if (n < -1 || n > MAX_AGGREGATE) {
      throw new ProtocolException("an aggregate of " + n + " elements");
    }
    return n;
  }

  /** A text line after its type byte (a simple string, an error), at most {@link #MAX_LINE} bytes. */
  String line() throws IOException {
    byte[] out = new byte[64];
    int n = 0;
    for (int c = read(); c != '\r'; c = read()) {
      if (n == MAX_LINE) {
        throw new ProtocolException("a line longer than " + MAX_LINE + " bytes");
      }
      if (n == out.length) {
        out = Arrays.copyOf(out, out.length * 2);
      }
      out[n++] = (byte) c;
    }
    expectLf();
    return new String(out, 0, n, StandardCharsets.UTF_8);
  }

  /**
   * The length of a bulk string whose header comes next ({@code $n}), -1 for RESP3's null
   * ({@code _}) and RESP2's null bulk ({@code $-1}).
   */
  long bulkLength() throws IOException {
    int type = read();
    if (type == '_') {
      expectCr();
      expectLf();
      return -1;
    }
    if (type != '$') {
      throw new ProtocolException("expected a bulk string, got " + describe(type));
    }
    long n = integerLine();
    if (n < -1 || n > MAX_BULK) {
      throw new ProtocolException("a bulk string of " + n + " bytes");
    }
    return n;
  }

  private void expectCr() throws IOException {
    int c = read();
    if (c != '\r') {
      throw new ProtocolException("expected CR, got " + describe(c));
    }
  }

  /** The {@code n} bytes of a bulk string whose header was read, and its CRLF: one copy. */
  byte[] bulkBody(int n) throws IOException {
    byte[] out = new byte[n];
    int done = 0;
    while (done < n) {
      if (pos == limit) {
        if (n - done >= buf.length) {
          // a large value: straight into its array, not through the buffer
          int k = in.read(out, done, n - done);
          if (k <= 0) {
            throw new EOFException("the server closed the connection");
          }
          done += k;
          continue;
        }
        fill();
      }
      int k = Math.min(n - done, limit - pos);
      System.arraycopy(buf, pos, out, done, k);
      pos += k;
      done += k;
    }
    expectCr();
    expectLf();
    return out;
  }

  /**
   * A bulk string's body like {@link #bulkBody}, but while it equals the previous call's, that same
   * array again: a busy channel's name costs no allocation per message.
   */
  byte[] channelBody(int n) throws IOException {
    byte[] last = lastChannel;
    if (last.length == n && limit - pos >= n + 2
        && Arrays.equals(buf, pos, pos + n, last, 0, n)) {
      pos += n;
      expectCr();
      expectLf();
      return last;
    }
    byte[] name = bulkBody(n);
    lastChannel = name;
    return name;
  }

  /** Whether the bulk body of {@code n} bytes that comes next is {@code word}; consumes it either way. */
  boolean bulkBodyIs(long n, byte[] word) throws IOException {
    if (n != word.length) {
      skip(n + 2);
      return false;
    }
    boolean same = true;
    for (byte b : word) {
      if (read() != (b & 0xff)) {
        same = false;
      }
    }
    expectCr();
    expectLf();
    return same;
  }

  /** Skips {@code n} bytes without holding them (an oversized message, a value nobody reads). */
  void skip(long n) throws IOException {
    long left = n;
    while (left > 0) {
      if (pos == limit) {
        fill();
      }
      int k = (int) Math.min(left, limit - pos);
      pos += k;
      left -= k;
    }
  }

  /** Skips the bulk body of {@code n} bytes and its CRLF, checking that the CRLF is there. */
  void skipBulkBody(long n) throws IOException {
    skip(n);
    expectCr();
    expectLf();
  }

  /** Skips one whole value whose type byte was read. */
  void skipValue(int type) throws IOException {
    skipValue(type, 0);
  }

  /** Reads a type byte and skips the value after it. */
  void skipValue() throws IOException {
    skipValue(read(), 0);
  }

  private void skipValue(int type, int depth) throws IOException {
    if (depth > MAX_DEPTH) {
      throw new ProtocolException("values nested deeper than " + MAX_DEPTH);
    }
    switch (type) {
      case '+', '-', ':', ',', '#', '(', '_' -> skipLine();
      case '$', '!', '=' -> {
        long n = integerLine();
        if (n < -1 || n > MAX_BULK) {
          throw new ProtocolException("a bulk value of " + n + " bytes");
        }
        if (n >= 0) {
          skipBulkBody(n);
        }
      }
      case '*', '~', '>' -> {
        long n = count();
        for (long i = 0; i < n; i++) {
          skipValue(read(), depth + 1);
        }
      }
      case '%' -> {
        long n = count();
        for (long i = 0; i < 2 * n; i++) {
          skipValue(read(), depth + 1);
        }
      }
      case '|' -> {
        long n = count();
        for (long i = 0; i < 2 * n; i++) {
          skipValue(read(), depth + 1);
        }
        skipValue(read(), depth + 1); // the value the attributes describe
      }
      default -> throw new ProtocolException("unknown type " + describe(type));
    }
  }

  private void skipLine() throws IOException {
    int n = 0;
    for (int c = read(); c != '\r'; c = read()) {
      if (++n > MAX_LINE) {
        throw new ProtocolException("a line longer than " + MAX_LINE + " bytes");
      }
    }
    expectLf();
  }

  /** A byte for an error message: printable ASCII as itself, anything else as its code. */
  static String describe(int c) {
    return c >= 0x20 && c < 0x7f ? "'" + (char) c + "'" : String.format("byte 0x%02x", c);
  }
}
