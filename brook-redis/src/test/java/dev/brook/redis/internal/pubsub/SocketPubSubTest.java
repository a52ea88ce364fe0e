package dev.brook.redis.internal.pubsub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.internal.RedisConnections;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Brook's own Pub/Sub reader against a fake server that speaks just enough RESP3 (HELLO, SUBSCRIBE)
 * and then sends what a real Redis never would: garbage, absurd lengths, a value far over
 * maxMessageSize. Each must end in a reconnect with the subscription back, never in a dead or
 * hot-looping reader, and an oversized value must not be held in memory.
 */
class SocketPubSubTest {

  private static final int MAX = 1024;

  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : closeLater) {
      c.close();
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> readerThreads() == 0);
  }

  /** A server that accepts connections one after the other and hands each to the test. */
  private static final class FakeRedis implements AutoCloseable {
    final ServerSocket server;
    final BlockingQueue<RespPeer> accepted = new LinkedBlockingQueue<>();
    final AtomicInteger connections = new AtomicInteger();
    final Thread acceptor;

    FakeRedis() throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      acceptor = Thread.ofPlatform().daemon(true).name("fake-redis").start(() -> {
        try {
          while (true) {
            Socket s = server.accept();
            connections.incrementAndGet();
            RespPeer c = new RespPeer(s);
            List<String> hello = c.command();
            if (!hello.get(0).equals("HELLO")) {
              throw new IOException("expected HELLO, got " + hello);
            }
            c.send("%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n");
            accepted.add(c);
          }
        } catch (IOException closed) {
          // the test is over
        }
      });
    }

    int port() {
      return server.getLocalPort();
    }

    RespPeer next() throws InterruptedException {
      RespPeer c = accepted.poll(10, TimeUnit.SECONDS);
      assertThat(c).as("a connection from the reader").isNotNull();
      return c;
    }

    @Override
    public void close() throws Exception {
      server.close();
      for (RespPeer c : accepted) {
        c.socket.close();
      }
    }
  }


  private static final class Heard implements PubSubConnection.Listener {
    final BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    final List<Long> oversized = new CopyOnWriteArrayList<>();
    final AtomicInteger disconnects = new AtomicInteger();
    final AtomicInteger reconnects = new AtomicInteger();
    /** How long message() holds the reader, as a sink that waits would. */
    volatile Duration hold = Duration.ZERO;

    @Override
    public void message(byte[] channel, byte[] message) {
      if (!hold.isZero()) {
        try {
          Thread.sleep(hold);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      messages.add(new String(channel, StandardCharsets.UTF_8) + "=" + new String(message, StandardCharsets.UTF_8));
    }

    @Override
    public void message(byte[] pattern, byte[] channel, byte[] message) {
      messages.add(new String(pattern, StandardCharsets.UTF_8) + ":" + new String(channel, StandardCharsets.UTF_8) + "="
          + new String(message, StandardCharsets.UTF_8));
    }

    @Override
    public void oversized(byte[] pattern, byte[] channel, long size) {
      oversized.add(size);
    }

    @Override
    public void disconnected() {
      disconnects.incrementAndGet();
    }

    @Override
    public void reconnected() {
      reconnects.incrementAndGet();
    }
  }

  private SocketPubSub reader(int port, Heard heard) {
    return reader(port, heard, Duration.ofSeconds(2), null);
  }

  /** A reader with command timeout {@code timeout}; with the transport's {@code timer} when not null, idle interval {@link #IDLE}. */
  private SocketPubSub reader(int port, Heard heard, Duration timeout, java.util.concurrent.ScheduledExecutorService timer) {
    SocketPubSub.Settings settings = new SocketPubSub.Settings("127.0.0.1", port, false, "FULL", null, null, null,
        "socket-test", Duration.ofSeconds(2), timeout, MAX, "redis://127.0.0.1:" + port);
    SocketPubSub r = new SocketPubSub(settings, () -> null);
    r.idleInterval(IDLE);
    r.listen(heard);
    closeLater.add(r);
    r.start(new RedisConnections.Events() {
      @Override
      public void reconnected() {}
    }, timer);
    return r;
  }

  /** Subscribes {@code channel}, confirms it on the fake's next connection and waits for that; the connection. */
  private static RespPeer subscribed(FakeRedis fake, SocketPubSub r, String channel) throws Exception {
    CompletableFuture<Void> subscribed = r.subscribe(channel.getBytes(StandardCharsets.UTF_8));
    RespPeer c = fake.next();
    c.confirmSubscribe();
    subscribed.get(5, TimeUnit.SECONDS);
    return c;
  }

  private static long readerThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(SocketPubSub.THREAD_NAME)).count();
  }

  @Test
  void garbageEndsTheConnectionAndTheReaderReconnectsAndSubscribesAgain() throws Exception {
    try (FakeRedis fake = new FakeRedis()) {
      Heard heard = new Heard();
      RespPeer first = subscribed(fake, reader(fake.port(), heard), "ch");
      first.message("ch", "one");
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("ch=one");

      for (String garbage : List.of("GET / HTTP/1.1\r\n\r\n", ">3\r\n$99999999999\r\n", ">-5\r\n", "$3\r\nabc\r\n",
          ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nabcd\r\n", "\u0000\u0001\u0002", ">9999999999\r\n",
          "|1\r\n" + "*1\r\n".repeat(40) + ":1\r\n")) {
        RespPeer c = first != null ? first : fake.next();
        if (c != first) {
          assertThat(c.confirmSubscribe()).isEqualTo("ch"); // subscribed again by itself
        }
        first = null;
        int before = heard.disconnects.get();
        c.send(garbage);
        await().atMost(Duration.ofSeconds(5)).until(() -> heard.disconnects.get() == before + 1);
      }
      RespPeer last = fake.next();
      assertThat(last.confirmSubscribe()).isEqualTo("ch");
      await().atMost(Duration.ofSeconds(5)).until(() -> heard.reconnects.get() == 8);
      last.message("ch", "after");
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("ch=after");
      assertThat(readerThreads()).isEqualTo(1);
    }
  }

  @Test
  void aServerThatAnswersOnlyGarbageIsRetriedWithBackOffNotInAHotLoop() throws Exception {
    try (FakeRedis fake = new FakeRedis()) {
      Heard heard = new Heard();
      SocketPubSub r = reader(fake.port(), heard);
      r.subscribe("ch".getBytes(StandardCharsets.UTF_8));
      Thread garbler = Thread.ofPlatform().daemon(true).start(() -> {
        try {
          while (true) {
            fake.next().send("\u00ff\u00fe garbage\r\n");
          }
        } catch (Throwable done) {
          // closed
        }
      });
      int start = fake.connections.get();
      Thread.sleep(2_000);
      int inTwoSeconds = fake.connections.get() - start;
      // back-off 10, 20, 40 ... 1000 ms: about 9 connects in the first 2 s; a hot loop would make thousands
      assertThat(inTwoSeconds).isBetween(3, 15);
      r.close();
      garbler.interrupt();
      await().atMost(Duration.ofSeconds(3)).until(() -> readerThreads() == 0);
    }
  }

  @Test
  void aMessageOverMaxMessageSizeIsSkippedWithoutBeingHeldInMemory() throws Exception {
    try (FakeRedis fake = new FakeRedis()) {
      Heard heard = new Heard();
      RespPeer c = subscribed(fake, reader(fake.port(), heard), "big");
      Thread reader = Thread.getAllStackTraces().keySet().stream()
          .filter(t -> t.getName().equals(SocketPubSub.THREAD_NAME)).findFirst().orElseThrow();
      com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
      long allocatedBefore = threads.getThreadAllocatedBytes(reader.threadId());

      int size = 64 * 1024 * 1024;
      c.send(">3\r\n$7\r\nmessage\r\n$3\r\nbig\r\n$" + size + "\r\n");
      byte[] chunk = new byte[1 << 20];
      for (int i = 0; i < size / chunk.length; i++) {
        c.out.write(chunk);
      }
      c.send("\r\n");
      c.message("big", "small");
      assertThat(heard.messages.poll(10, TimeUnit.SECONDS)).isEqualTo("big=small");
      assertThat(heard.oversized).containsExactly((long) size);
      long allocated = threads.getThreadAllocatedBytes(reader.threadId()) - allocatedBefore;
      assertThat(allocated).as("bytes the reader allocated while skipping %d", size).isLessThan(1 << 20);
      assertThat(heard.disconnects.get()).isZero();
    }
  }

  @Test
  void closeDuringTheReconnectLoopEndsTheThreadAndFailsWhatWaits() throws Exception {
    FakeRedis fake = new FakeRedis();
    Heard heard = new Heard();
    SocketPubSub r = reader(fake.port(), heard);
    RespPeer c = fake.next();
    fake.close(); // nothing listens any more: the reader retries with back-off
    c.socket.close();
    await().atMost(Duration.ofSeconds(5)).until(() -> heard.disconnects.get() == 1);
    CompletableFuture<Void> waiting = r.subscribe("later".getBytes(StandardCharsets.UTF_8));
    // well into the back-off, still waiting
    await().during(Duration.ofMillis(300)).atMost(Duration.ofSeconds(2)).until(() -> !waiting.isDone());
    long t0 = System.nanoTime();
    r.close();
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(2));
    assertThat(readerThreads()).isZero();
    assertThatThrownBy(() -> waiting.get(1, TimeUnit.SECONDS)).hasMessageContaining("closed");
    assertThat(r.subscribe("after".getBytes(StandardCharsets.UTF_8))).isCompletedExceptionally();
  }

  @Test
  void aConfirmationNobodyAskedForIsAProtocolErrorAndTheSubscriptionsComeBack() throws Exception {
    try (FakeRedis fake = new FakeRedis()) {
      Heard heard = new Heard();
      SocketPubSub r = reader(fake.port(), heard);
      CompletableFuture<Void> a = r.subscribe("a".getBytes(StandardCharsets.UTF_8));
      CompletableFuture<Void> b = r.psubscribe("p*".getBytes(StandardCharsets.UTF_8));
      RespPeer c = fake.next();
      c.confirmSubscribe();
      List<String> p = c.command();
      assertThat(p).containsExactly("PSUBSCRIBE", "p*");
      c.send(">3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n");
      a.get(5, TimeUnit.SECONDS);
      b.get(5, TimeUnit.SECONDS);
      c.send(">4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npx\r\n$1\r\n1\r\n");
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("p*:px=1");
      c.send(">3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:3\r\n"); // never asked for
      RespPeer again = fake.next();
      assertThat(again.confirmSubscribe()).isEqualTo("a");
      assertThat(again.command()).containsExactly("PSUBSCRIBE", "p*");
      assertThat(heard.disconnects.get()).isEqualTo(1);
    }
  }

  // ---- the idle check: PING after a silence, a dead connection closed --------------------------------

  private static final Duration IDLE = Duration.ofMillis(300);
  private static final Duration TIMEOUT = Duration.ofMillis(400); // the timer ticks every 100 ms

  /** A reader with the transport's timer (idle {@link #IDLE}, command timeout {@link #TIMEOUT}); the timer. */
  private java.util.concurrent.ScheduledThreadPoolExecutor timer() {
    java.util.concurrent.ScheduledThreadPoolExecutor timer = new java.util.concurrent.ScheduledThreadPoolExecutor(1);
    timer.setRemoveOnCancelPolicy(true);
    closeLater.add(timer::shutdownNow);
    return timer;
  }

  private SocketPubSub idleReader(int port, Heard heard, java.util.concurrent.ScheduledExecutorService timer) {
    return reader(port, heard, TIMEOUT, timer);
  }

  /** Reads the peer's commands on a thread of its own, answering PING with {@code +PONG} when {@code answer}. */
  private Thread commands(RespPeer c, List<String> got, boolean answer) {
    Thread t = Thread.ofPlatform().daemon(true).start(() -> {
      try {
        while (true) {
          List<String> cmd = c.command();
          got.add(String.join(" ", cmd));
          if (answer && cmd.get(0).equals("PING")) {
            c.send("+PONG\r\n");
          }
        }
      } catch (IOException | RuntimeException closed) {
        // the reader closed it, or the test is over
      }
    });
    closeLater.add(t::interrupt);
    return t;
  }

  @Test
  void aServerThatGoesSilentIsPingedAndTheReaderReconnectsWithinIdlePlusTimeout() throws Exception {
    try (FakeRedis fake = new FakeRedis()) {
      Heard heard = new Heard();
      SocketPubSub r = idleReader(fake.port(), heard, timer());
      RespPeer silent = subscribed(fake, r, "ch");
      long t0 = System.nanoTime();
      List<String> got = new CopyOnWriteArrayList<>();
      commands(silent, got, false); // reads, never writes

      RespPeer next = fake.next();
      long took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
      assertThat(got).containsExactly("PING");
      assertThat(next.confirmSubscribe()).isEqualTo("ch");
      await().atMost(Duration.ofSeconds(5)).until(() -> heard.reconnects.get() == 1);
      System.out.printf("PUBSUB-IDLE: a silent server noticed and reconnected after %d ms (idle %d + timeout %d)%n", took,
          IDLE.toMillis(), TIMEOUT.toMillis());
      assertThat(took).isGreaterThanOrEqualTo(IDLE.toMillis() + TIMEOUT.toMillis())
          .isLessThan(IDLE.toMillis() + TIMEOUT.toMillis() + 1500);
      assertThat(heard.disconnects.get()).isEqualTo(1);
      next.message("ch", "back");
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("ch=back");
      assertThat(readerThreads()).isEqualTo(1);
    }
  }

  @Test
  void aServerThatAnswersPongKeepsTheConnection() throws Exception {
    try (FakeRedis fake = new FakeRedis()) {
      Heard heard = new Heard();
      SocketPubSub r = idleReader(fake.port(), heard, timer());
      RespPeer c = subscribed(fake, r, "ch");
      List<String> got = new CopyOnWriteArrayList<>();
      commands(c, got, true);
      await().during(IDLE.plus(TIMEOUT).multipliedBy(4)).atMost(Duration.ofSeconds(10))
          .until(() -> heard.disconnects.get() == 0);
      assertThat(got).hasSizeGreaterThanOrEqualTo(3).allMatch("PING"::equals);
      // A subscribe between PINGs is confirmed in its place among the PONGs.
      CompletableFuture<Void> more = r.subscribe("ch2".getBytes(StandardCharsets.UTF_8));
      await().atMost(Duration.ofSeconds(5)).until(() -> got.contains("SUBSCRIBE ch2"));
      c.send(">3\r\n$9\r\nsubscribe\r\n$3\r\nch2\r\n:2\r\n");
      more.get(5, TimeUnit.SECONDS);
      c.message("ch2", "x");
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("ch2=x");
      assertThat(heard.disconnects.get()).isZero();
      assertThat(fake.connections.get()).isEqualTo(1);
    }
  }

  @Test
  void flowingMessagesAreLivenessAndNoPingIsSent() throws Exception {
    try (FakeRedis fake = new FakeRedis()) {
      Heard heard = new Heard();
      SocketPubSub r = idleReader(fake.port(), heard, timer());
      RespPeer c = subscribed(fake, r, "ch");
      List<String> got = new CopyOnWriteArrayList<>();
      commands(c, got, true);
      long end = System.nanoTime() + IDLE.multipliedBy(8).toNanos();
      int sent = 0;
      while (System.nanoTime() < end) {
        c.message("ch", "m" + sent++);
        Thread.sleep(IDLE.toMillis() / 6);
      }
      assertThat(got).as("commands the server received while messages flowed").isEmpty();
      assertThat(heard.disconnects.get()).isZero();
      // And once they stop, the check does ask: the assertion above could fail.
      await().atMost(IDLE.plus(Duration.ofSeconds(2))).until(() -> got.contains("PING"));
    }
  }

  @Test
  void closeWhileAPingIsOutstandingReturnsPromptlyAndLeavesNothing() throws Exception {
    try (FakeRedis fake = new FakeRedis()) {
      Heard heard = new Heard();
      java.util.concurrent.ScheduledThreadPoolExecutor timer = timer();
      SocketPubSub r = idleReader(fake.port(), heard, timer);
      RespPeer c = subscribed(fake, r, "ch");
      List<String> got = new CopyOnWriteArrayList<>();
      commands(c, got, false);
      await().atMost(Duration.ofSeconds(5)).until(() -> got.contains("PING"));
      long t0 = System.nanoTime();
      r.close();
      assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(1));
      assertThat(readerThreads()).isZero();
      assertThat(timer.getQueue()).as("the reader's timer task").isEmpty();
      assertThat(c.closedByReader(Duration.ofSeconds(2))).isTrue();
      await().during(IDLE.plus(TIMEOUT).multipliedBy(2)).atMost(Duration.ofSeconds(5))
          .until(() -> fake.connections.get() == 1 && heard.disconnects.get() == 0);
    }
  }

  @Test
  void aPongNothingAskedForIsAProtocolError() throws Exception {
    try (FakeRedis fake = new FakeRedis()) {
      Heard heard = new Heard();
      SocketPubSub r = reader(fake.port(), heard);
      RespPeer c = subscribed(fake, r, "ch");
      c.send("+PONG\r\n");
      await().atMost(Duration.ofSeconds(5)).until(() -> heard.disconnects.get() == 1);
      assertThat(fake.next().confirmSubscribe()).isEqualTo("ch");
      await().atMost(Duration.ofSeconds(5)).until(() -> heard.reconnects.get() == 1);
    }
  }

  @Test
  void aReaderBusyInTheListenerIsNotTakenForASilentServer() throws Exception {
    try (FakeRedis fake = new FakeRedis()) {
      Heard heard = new Heard();
      SocketPubSub r = idleReader(fake.port(), heard, timer());
      RespPeer c = subscribed(fake, r, "ch");
      List<String> got = new CopyOnWriteArrayList<>();
      commands(c, got, true);
      heard.hold = IDLE.plus(TIMEOUT).multipliedBy(3);
      c.message("ch", "slow");
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("ch=slow");
      heard.hold = Duration.ZERO;
      await().during(IDLE.plus(TIMEOUT).multipliedBy(2)).atMost(Duration.ofSeconds(5))
          .until(() -> heard.disconnects.get() == 0);
      assertThat(got).as("asked once waiting again, and answered").contains("PING");
      assertThat(fake.connections.get()).isEqualTo(1);
    }
  }
}
