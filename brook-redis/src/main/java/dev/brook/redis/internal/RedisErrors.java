package dev.brook.redis.internal;

import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The one place where Brook reads the text of an error: Redis reports errors as text ({@code
 * NOGROUP No such key ...}) and Lettuce passes most of them on as a plain {@link
 * RedisCommandExecutionException} or {@link RedisException}. {@link #translate} turns those Brook
 * reacts to into the typed exceptions below, as Lettuce's {@code ExceptionFactory} does for {@code
 * BUSY}, {@code NOSCRIPT}, {@code LOADING} and {@code READONLY}; everything else goes on unchanged.
 * A typed exception keeps the message and has the original as its cause, so what a log line or an
 * error message quotes does not change.
 */
public final class RedisErrors {

  private RedisErrors() {}

  /**
   * The typed exception for a Redis error Brook reacts to, else {@code e} itself (unwrapped from a
   * {@link CompletionException} or {@link ExecutionException}); never null.
   */
  public static Throwable translate(Throwable e) {
    Throwable t = unwrap(e);
    if (t == null || t instanceof Typed) {
      return t;
    }
    String text = String.valueOf(t.getMessage());
    // Connect failures: the server's reply, at the end of Lettuce's chain of causes.
    if (text.contains("DB index is out of range")) {
      return new NoSuchDatabase(text, t);
    }
    if (text.startsWith("WRONGPASS")) {
      return new WrongPass(text, t);
    }
    if (text.startsWith("NOAUTH")) {
      return new NoAuth(text, t);
    }
    if (text.startsWith("NOPERM")) {
      return new NoPerm(text, t);
    }
    if (!(t instanceof RedisException)) {
      return t;
    }
    if (t instanceof RedisCommandExecutionException) {
      if (text.startsWith("BUSYGROUP")) {
        return new BusyGroup(text, t);
      }
      if (text.startsWith("NOGROUP")) {
        return new NoGroup(text, t);
      }
      if (text.startsWith("READONLY") || text.contains("READONLY You can't write against a read only replica")
          || text.startsWith("UNBLOCKED") && text.contains("instance state changed")) {
        return new ReadOnly(text, t);
      }
      if (text.startsWith("UNBLOCKED")) {
        return new Unblocked(text, t);
      }
      if (text.startsWith("WRONGTYPE")) {
        return new WrongType(text, t);
      }
      if (text.contains("Invalid stream ID")) {
        return new InvalidStreamId(text, t);
      }
    }
    // Lettuce's own errors, raised in the client.
    if (text.startsWith("Request queue size exceeded")) {
      return new QueueFull(text, t);
    }
    if (text.startsWith("Connection closed")) {
      return new ConnectionClosed(text, t);
    }
    return t;
  }

  /** {@link #translate} for code that rethrows: a runtime exception in any case. */
  public static RuntimeException translated(Throwable e) {
    Throwable t = translate(e);
    return t instanceof RuntimeException r ? r : new CompletionException(t);
  }

  /** The cause of a {@link CompletionException} or {@link ExecutionException}, else {@code e}. */
  public static Throwable unwrap(Throwable e) {
    Throwable t = e;
    while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  /** A Redis error that {@link #translate} recognised. */
  public interface Typed {}

  /** {@code XGROUP CREATE} of a group that exists. */
  public static final class BusyGroup extends RedisCommandExecutionException implements Typed {
    BusyGroup(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The consumer group (or its stream) is gone: the key was deleted, or Redis restarted without persistence. */
  public static final class NoGroup extends RedisCommandExecutionException implements Typed {
    NoGroup(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Redis ended a blocked read: from Redis 7 when its stream key is deleted meanwhile. */
  public static final class Unblocked extends RedisCommandExecutionException implements Typed {
    Unblocked(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * The connection reached a replica: a write answered {@code READONLY}, or a blocked read was ended
   * because the server turned from primary into replica ({@code UNBLOCKED ... instance state
   * changed}). After a Sentinel failover the connection must go to the new primary ({@link
   * RedisConnections#reroute}).
   */
  public static final class ReadOnly extends RedisCommandExecutionException implements Typed {
    ReadOnly(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The key holds another type than the command works on. */
  public static final class WrongType extends RedisCommandExecutionException implements Typed {
    WrongType(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** A stream id Redis cannot parse (a subscription's {@code startFrom}). */
  public static final class InvalidStreamId extends RedisCommandExecutionException implements Typed {
    InvalidStreamId(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The URL's database number is beyond the server's {@code databases}. */
  public static final class NoSuchDatabase extends RedisException implements Typed {
    NoSuchDatabase(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Wrong user name or password. */
  public static final class WrongPass extends RedisException implements Typed {
    WrongPass(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The server wants a password and got none. */
  public static final class NoAuth extends RedisException implements Typed {
    NoAuth(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The URL's user may not run a command Brook sends. */
  public static final class NoPerm extends RedisException implements Typed {
    NoPerm(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** Lettuce's request queue ({@code requestQueueSize}) is full; the command was not sent. */
  public static final class QueueFull extends RedisException implements Typed {
    QueueFull(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The connection closed with the command on its way: Redis may or may not have run it. */
  public static final class ConnectionClosed extends RedisException implements Typed {
    ConnectionClosed(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
