package dev.brook.internal;

import dev.brook.spi.Inbound;
import dev.brook.spi.Frame;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A received message for unit tests: records how it was settled and given back, in the order it
 * happened, across all instances that share one {@link #log}.
 */
final class TestInbound implements Inbound {

  private final String name;
  private final Frame frame;
  private final boolean atLeastOnce;
  private final List<String> log;
  /** The batches given to {@link #releaseAll}, on whichever message it was called. */
  final List<List<String>> releasedTogether;
  /** Run (once) when the mailbox asks this message whether it is at-least-once: a test's way into a drain or withdraw. */
  private final Map<String, Runnable> whenAsked;

  private TestInbound(String name, Frame frame, boolean atLeastOnce, Factory factory) {
    this.name = name;
    this.frame = frame;
    this.atLeastOnce = atLeastOnce;
    this.log = factory.log;
    this.releasedTogether = factory.releasedTogether;
    this.whenAsked = factory.whenAsked;
  }

  /** Messages that log to one shared list. */
  static final class Factory {
    final List<String> log = new CopyOnWriteArrayList<>();
    final List<List<String>> releasedTogether = new CopyOnWriteArrayList<>();
    /** Message name → what runs the first time {@link #atLeastOnce()} is called on it. */
    final Map<String, Runnable> whenAsked = new java.util.concurrent.ConcurrentHashMap<>();

    /** At-most-once (Pub/Sub), its payload its name as text. */
    TestInbound atMostOnce(String name) {
      return new TestInbound(name, text(name), false, this);
    }

    /** At-least-once (a reliable List or a Stream group): given back on stop. */
    TestInbound atLeastOnce(String name) {
      return new TestInbound(name, text(name), true, this);
    }

    TestInbound withFrame(String name, Frame frame) {
      return new TestInbound(name, frame, false, this);
    }
  }

  static Frame text(String payload) {
    return new Frame(Map.of(Codec.CONTENT_TYPE, Codec.TEXT), payload.getBytes(StandardCharsets.UTF_8));
  }

  String name() {
    return name;
  }

  @Override
  public String channel() {
    return "test";
  }

  @Override
  public String serverId() {
    return null;
  }

  @Override
  public Frame frame() {
    return frame;
  }

  @Override
  public Map<String, String> pathParams() {
    return Map.of();
  }

  @Override
  public boolean atLeastOnce() {
    Runnable hook = whenAsked.remove(name);
    if (hook != null) {
      hook.run();
    }
    return atLeastOnce;
  }

  @Override
  public void ack() {
    log.add("ack " + name);
  }

  @Override
  public void nack(String reason) {
    log.add("nack " + name);
  }

  @Override
  public void reject(String reason, Throwable error) {
    log.add("reject " + name);
  }

  @Override
  public void release() {
    log.add("release " + name);
  }

  @Override
  public void releaseAll(List<? extends Inbound> messages) {
    releasedTogether.add(messages.stream().map(m -> ((TestInbound) m).name).toList());
  }

  @Override
  public void processed(Throwable failure) {
    log.add("processed " + name);
  }

  @Override
  public String toString() {
    return name;
  }
}
