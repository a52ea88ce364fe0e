package dev.brook.redis.internal.pubsub;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * What {@link PubSubHub} needs of its subscribed connection: (un)subscribe commands whose futures
 * complete when Redis confirms them, in the order they were sent, and a {@link Listener} for what
 * arrives. Two implementations: {@link SocketPubSub} (Brook's own reader: a blocking socket read by
 * one platform thread; a standalone Redis) and {@link LettucePubSub} (Lettuce's Pub/Sub connection:
 * Redis Cluster, Sentinel, a Lettuce client the user passed, and the {@code brook.pubsub.reader=lettuce}
 * benchmark switch).
 *
 * <p>Both reconnect on their own after a loss and subscribe every channel and pattern again that was
 * subscribed (or being subscribed) when the connection dropped. The commands are thread-safe and never
 * block on Redis; they are sent in the order of the calls.
 */
interface PubSubConnection extends AutoCloseable {

  /**
   * What a subscribed connection hears. Called on the connection's one reading thread (Lettuce's I/O
   * thread, or {@code brook-pubsub-reader}), so it must only hand messages on.
   */
  interface Listener {
    /** A message on {@code channel}; {@code message} is the caller's to keep. */
    void message(byte[] channel, byte[] message);

    /** A message on {@code channel} that matched {@code pattern}. */
    void message(byte[] pattern, byte[] channel, byte[] message);

    /**
     * A message larger than the broker's maxMessageSize: its {@code size} bytes were skipped, not read
     * into memory. {@code pattern} is null for a channel message. Only Brook's own reader calls it
     * (Lettuce reads every message whole, and the hub checks the size afterwards).
     */
    void oversized(byte[] pattern, byte[] channel, long size);

    /** The connection dropped: a gap begins. */
    void disconnected();

    /** The connection is back and its channels and patterns are being subscribed again: the gap ends. */
    void reconnected();
  }

  /** Sets whom messages and losses go to; once, before any subscribe. */
  void listen(Listener listener);

  CompletableFuture<Void> subscribe(byte[] channel);

  CompletableFuture<Void> unsubscribe(byte[] channel);

  CompletableFuture<Void> psubscribe(byte[] pattern);

  CompletableFuture<Void> punsubscribe(byte[] pattern);

  /** How long a caller waits for a confirmation: the transport's command timeout. */
  Duration timeout();

  /** Whether the connection is open now (not while it reconnects, not after close). */
  boolean isOpen();

  /** Closes the connection and ends its reader; pending confirmations fail. Never throws. */
  @Override
  void close();
}
