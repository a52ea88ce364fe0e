package dev.brook.redis.internal.pubsub;

import dev.brook.redis.PatternDestination;
import dev.brook.redis.internal.RedisKind;
import dev.brook.spi.Frame;
import dev.brook.spi.Transport;
import java.util.concurrent.CompletableFuture;

/** Pub/Sub patterns: PSUBSCRIBE on the shared hub; nothing is published to a pattern. */
public final class PatternKind implements RedisKind<PatternDestination> {

  private final PubSub pubSub;

  PatternKind(PubSub pubSub) {
    this.pubSub = pubSub;
  }

  @Override
  public Class<PatternDestination> type() {
    return PatternDestination.class;
  }

  @Override
  public Transport.Consumer consumer(PatternDestination pattern, String subscriptionId, Transport.Sink sink) {
    return PubSub.lazy(() -> pubSub.hub().patternConsumer(pattern, sink));
  }

  @Override
  public CompletableFuture<Void> send(PatternDestination pattern, Frame frame) {
    throw notForPublishing(pattern);
  }

  /** A publish to a pattern, here and in the in-memory model. */
  static IllegalArgumentException notForPublishing(PatternDestination pattern) {
    return new IllegalArgumentException("Cannot publish to " + pattern.key()
        + ": a pattern is for subscribing. Publish to a channel, e.g. channel(\"logs.error\").");
  }
}
