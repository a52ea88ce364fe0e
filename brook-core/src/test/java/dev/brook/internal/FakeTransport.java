package dev.brook.internal;

import dev.brook.spi.Transport;
import dev.brook.spi.Inbound;
import dev.brook.spi.Frame;
import static dev.brook.internal.Soon.soon;

import dev.brook.Destination;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A transport for unit tests of the engine: it records what is sent and what consumers do, and
 * lets the test deliver messages to a running consumer's sink by hand.
 */
final class FakeTransport implements Transport {

  /** A destination of this transport: {@code kind:name}. */
  record Target(String kind, String name, boolean atLeastOnce) implements Destination {

    static Target channel(String name) {
      return new Target("channel", name, false);
    }

    @Override
    public String key() {
      return kind + ":" + name;
    }

    @Override
    public Destination withName(String name) {
      return new Target(kind, name, atLeastOnce);
    }
  }

  record Sent(Destination destination, Frame frame) {}

  final List<Sent> sent = new CopyOnWriteArrayList<>();
  /** "start KEY", "stop KEY", "close", in order. */
  final List<String> events = new CopyOnWriteArrayList<>();
  private final Map<String, Sink> running = new ConcurrentHashMap<>();

  @Override
  public void connect() {}

  @Override
  public Consumer consumer(Destination destination, String subscriptionId, Sink sink) {
    return new Consumer() {
      @Override
      public void start() {
        running.put(destination.key(), sink);
        events.add("start " + destination.key());
      }

      @Override
      public void stop() {
        running.remove(destination.key(), sink);
        events.add("stop " + destination.key());
      }
    };
  }

  @Override
  public CompletableFuture<Void> send(Destination destination, Frame frame) {
    sent.add(new Sent(destination, frame));
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public Destination replyChannel(String name) {
    return new Target("reply", name, false);
  }

  @Override
  public String describe() {
    return "fake://test";
  }

  @Override
  public void close() {
    events.add("close");
  }

  /** The sink of the consumer running on {@code key} now. */
  Sink sink(String key) {
    Sink sink = running.get(key);
    if (sink == null) {
      soon().until(() -> running.containsKey(key));
      sink = running.get(key);
    }
    return sink;
  }

  /** Delivers a message to the consumer running on {@code key}. */
  void deliver(String key, Inbound message) {
    sink(key).accept(message);
  }
}
