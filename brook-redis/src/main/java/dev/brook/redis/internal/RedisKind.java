package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One kind of Redis destination — a Pub/Sub channel or pattern, a List, a Stream — and everything
 * the transport does with destinations of its class: how one is read ({@link #consumer}) and
 * written ({@link #send}, {@link #sendBatch}). Each kind lives in its own package ({@code pubsub},
 * {@code list}, {@code stream}) with its consumer, inbound message and producer steps, so adding a
 * kind touches that package and the one line in {@link RedisTransport} that lists the kinds; the
 * transport finds a destination's kind by its class ({@link RedisKinds}), never by a chain of
 * {@code instanceof}. A kind's description for AsyncAPI and its in-memory model for tests (a
 * {@code RedisKind} of the test broker's transport, on a {@link MemoryRedis}) belong here too.
 *
 * <p>One instance per transport, created with the transport's {@link RedisContext} (a model: with
 * its {@link MemoryRedis}); thread-safe.
 *
 * @param <D> the destination class this kind serves (the public destination classes are final)
 */
public interface RedisKind<D extends Destination> {

  /** The destination class this kind serves. */
  Class<D> type();

  /** A consumer that delivers the destination's messages to the sink once started (see {@link Transport#consumer}). */
  Transport.Consumer consumer(D destination, String subscriptionId, Transport.Sink sink);

  /** Sends one message; the future completes when Redis has it (see {@link Transport#send}). */
  CompletableFuture<Void> send(D destination, Frame frame);

  /**
   * Sends one message with options (a delay, a dedup key; see {@link Delayed}); the default refuses
   * any option, as Pub/Sub has nowhere to keep a message.
   */
  default CompletableFuture<dev.brook.PublishResult> send(D destination, Frame frame, dev.brook.PublishOptions options) {
    if (!options.isEmpty()) {
      throw new IllegalArgumentException("Cannot publish to " + destination.key() + " with " + options
          + ": delays and dedup keys are for Lists and Streams, which keep a message until it is due.");
    }
    return send(destination, frame).thenApply(v -> dev.brook.PublishResult.PUBLISHED);
  }

  /**
   * The command that publishes one message, built by hand and not yet sent, so a pipeline can write
   * the commands of several kinds at once ({@code RedisTransport.sendPipeline}); the caller dispatches
   * it, and it completes when Redis answered. Null (the default) when the kind cannot: the pipeline
   * then sends that message with {@link #send}.
   */
  default io.lettuce.core.protocol.AsyncCommand<byte[], byte[], ?> command(D destination, Frame frame) {
    return null;
  }

  /**
   * The commands that publish several messages to one destination, for a pipeline; by default one
   * {@link #command} each (null when the kind has none). A List makes one RPUSH of all.
   */
  default List<io.lettuce.core.protocol.AsyncCommand<byte[], byte[], ?>> commands(D destination, List<Frame> frames) {
    List<io.lettuce.core.protocol.AsyncCommand<byte[], byte[], ?>> all = new java.util.ArrayList<>(frames.size());
    for (Frame frame : frames) {
      io.lettuce.core.protocol.AsyncCommand<byte[], byte[], ?> c = command(destination, frame);
      if (c == null) {
        return null;
      }
      all.add(c);
    }
    return all;
  }

  /**
   * What a publish to the destination waits for after the write ({@code WAIT}), or null (the
   * default, and always for kinds Redis does not store, such as channels): see {@link
   * RedisProducer#sendDurable}.
   */
  default Durability durability(D destination) {
    return null;
  }

  /** Sends several messages in order; by default one {@link #send} each, pipelined on the command connection. */
  default CompletableFuture<Void> sendBatch(D destination, List<Frame> frames) {
    CompletableFuture<?>[] all = new CompletableFuture<?>[frames.size()];
    for (int i = 0; i < all.length; i++) {
      all[i] = send(destination, frames.get(i));
    }
    return CompletableFuture.allOf(all);
  }
}
