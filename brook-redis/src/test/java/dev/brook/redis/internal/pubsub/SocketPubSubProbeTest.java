package dev.brook.redis.internal.pubsub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.brook.redis.internal.RedisConnections;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * An adversarial probe of Brook's own Pub/Sub reader against hand-written servers: close at the
 * worst moments of a connect (a server that never answers HELLO, one that never answers the TLS
 * handshake), frames cut into single bytes, RESP3 types a subscribed connection never gets, an error
 * reply to SUBSCRIBE, subscribes while disconnected, and a server that closes every connection right
 * after HELLO.
 */
class SocketPubSubProbeTest {

  private final List<AutoCloseable> closeLater = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (AutoCloseable c : closeLater) {
      c.close();
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> readerThreads() == 0);
  }

  private static long readerThreads() {
    return Thread.getAllStackTraces().keySet().stream().filter(t -> t.getName().equals(SocketPubSub.THREAD_NAME)).count();
  }


  /**
   * A server that hands each accepted connection to {@code script} (on its own thread): the script
   * decides whether to answer HELLO, and how.
   */
  static final class Server implements AutoCloseable {
    final ServerSocket server;
    final AtomicInteger accepted = new AtomicInteger();
    final BlockingQueue<RespPeer> peers = new LinkedBlockingQueue<>();

    Server(Consumer<RespPeer> script) throws IOException {
      server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
      Thread.ofPlatform().daemon(true).name("probe-server").start(() -> {
        try {
          while (true) {
            RespPeer p = new RespPeer(server.accept());
            accepted.incrementAndGet();
            peers.add(p);
            Thread.ofPlatform().daemon(true).name("probe-peer").start(() -> script.accept(p));
          }
        } catch (IOException closed) {
          // the test is over
        }
      });
    }

    /** A server that answers HELLO and hands the connection to the test. */
    static Server redisLike(BlockingQueue<RespPeer> ready) throws IOException {
      return new Server(p -> {
        try {
          p.command();
          p.send("%1\r\n$6\r\nserver\r\n$5\r\nredis\r\n");
          ready.add(p);
        } catch (IOException e) {
          // closed
        }
      });
    }

    int port() {
      return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
      server.close();
      for (RespPeer p : peers) {
        p.socket.close();
      }
    }
  }

  /** What the reader told its listener. */
  static class Heard implements PubSubConnection.Listener {
    final BlockingQueue<String> messages = new LinkedBlockingQueue<>();
    final AtomicInteger disconnects = new AtomicInteger();
    final AtomicInteger reconnects = new AtomicInteger();

    @Override
    public void message(byte[] channel, byte[] message) {
      messages.add(new String(channel, StandardCharsets.UTF_8) + "=" + new String(message, StandardCharsets.UTF_8));
    }

    @Override
    public void message(byte[] pattern, byte[] channel, byte[] message) {
      messages.add(new String(pattern, StandardCharsets.UTF_8) + ":" + new String(channel, StandardCharsets.UTF_8) + "="
          + new String(message, StandardCharsets.UTF_8));
    }

    @Override
    public void oversized(byte[] pattern, byte[] channel, long size) {
      messages.add("oversized " + size);
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

  private SocketPubSub reader(int port, boolean tls, Duration commandTimeout, Heard heard) {
    SocketPubSub.Settings settings = new SocketPubSub.Settings("127.0.0.1", port, tls, "NONE", null, null, null,
        "probe", Duration.ofSeconds(2), commandTimeout, 1024, "redis://127.0.0.1:" + port);
    SocketPubSub r = new SocketPubSub(settings, () -> null);
    r.listen(heard);
    closeLater.add(r);
    return r;
  }

  /** A reader of {@code server}, started (connected, past HELLO). */
  private SocketPubSub started(Server server, Heard heard) {
    SocketPubSub r = reader(server.port(), false, Duration.ofSeconds(2), heard);
    r.start(NO_EVENTS);
    return r;
  }

  private static final RedisConnections.Events NO_EVENTS = new RedisConnections.Events() {
    @Override
    public void reconnected() {}
  };

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Starts {@code r} on a thread of its own; the start's failure, or null. */
  private static CompletableFuture<Throwable> startAside(SocketPubSub r) {
    CompletableFuture<Throwable> done = new CompletableFuture<>();
    Thread.ofPlatform().daemon(true).start(() -> {
      try {
        r.start(NO_EVENTS);
        done.complete(null);
      } catch (Throwable e) {
        done.complete(e);
      }
    });
    return done;
  }

  private void closeDuringTheConnect(boolean tls) throws Exception {
    try (Server silent = new Server(p -> {})) { // accepts, never says a word: no TLS ServerHello, no HELLO reply
      SocketPubSub r = reader(silent.port(), tls, Duration.ofSeconds(20), new Heard());
      CompletableFuture<Throwable> started = startAside(r);
      RespPeer peer = silent.peers.poll(5, TimeUnit.SECONDS);
      assertThat(peer).isNotNull();
      // The reader wrote its first handshake bytes (TLS ClientHello or HELLO): it now waits for the answer.
      await().atMost(Duration.ofSeconds(5)).until(() -> peer.in.available() > 0);
      long t0 = System.nanoTime();
      r.close();
      Duration took = Duration.ofNanos(System.nanoTime() - t0);
      assertThat(took).as("close during the %s handshake", tls ? "TLS" : "HELLO").isLessThan(Duration.ofSeconds(1));
      assertThat(started.get(2, TimeUnit.SECONDS)).as("start's failure").isNotNull().hasMessageContaining("closed");
      assertThat(readerThreads()).isZero();
      assertThat(peer.closedByReader(Duration.ofSeconds(2))).as("the socket closed").isTrue();
      assertThat(r.subscribe(utf8("after"))).isCompletedExceptionally();
    }
  }

  @Test
  void closeWhileTheServerNeverAnswersHelloEndsTheStartAtOnceAndLeavesNoSocket() throws Exception {
    closeDuringTheConnect(false);
  }

  @Test
  void closeDuringATlsHandshakeTheServerNeverAnswersEndsTheStartAtOnceAndLeavesNoSocket() throws Exception {
    closeDuringTheConnect(true);
  }

  @org.junit.jupiter.api.RepeatedTest(5) // the second close used to return at once: seen about one run in three
  void twoConcurrentClosesDuringABackOffBothReturnWithTheReaderEnded() throws Exception {
    BlockingQueue<RespPeer> ready = new LinkedBlockingQueue<>();
    Server server = Server.redisLike(ready);
    Heard heard = new Heard();
    SocketPubSub r = started(server, heard);
    CompletableFuture<Void> sub = r.subscribe(utf8("a"));
    ready.take().confirm();
    sub.get(5, TimeUnit.SECONDS);
    server.close(); // refused from now on: the reader backs off
    await().atMost(Duration.ofSeconds(5)).until(() -> heard.disconnects.get() == 1);
    CompletableFuture<Void> waiting = r.subscribe(utf8("b"));
    await().during(Duration.ofMillis(100)).atMost(Duration.ofSeconds(2)).until(() -> !waiting.isDone());
    java.util.concurrent.CyclicBarrier go = new java.util.concurrent.CyclicBarrier(2);
    List<Thread> closers = new ArrayList<>();
    AtomicInteger aliveAfterAReturn = new AtomicInteger();
    for (int i = 0; i < 2; i++) {
      closers.add(Thread.ofPlatform().start(() -> {
        try {
          go.await();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
        r.close();
        if (readerThreads() != 0) {
          aliveAfterAReturn.incrementAndGet();
        }
      }));
    }
    for (Thread t : closers) {
      t.join(5_000);
    }
    assertThat(readerThreads()).isZero();
    assertThat(waiting).isCompletedExceptionally();
    assertThat(aliveAfterAReturn.get()).as("closes that returned while the reader still ran").isZero();
  }

  @Test
  void framesWrittenOneByteAtATimeAreReadWhole() throws Exception {
    BlockingQueue<RespPeer> ready = new LinkedBlockingQueue<>();
    try (Server server = Server.redisLike(ready)) {
      Heard heard = new Heard();
      SocketPubSub r = started(server, heard);
      CompletableFuture<Void> sub = r.subscribe(utf8("ch"));
      CompletableFuture<Void> psub = r.psubscribe(utf8("p*"));
      RespPeer p = ready.take();
      p.command();
      p.command();
      String all = ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
          + "|1\r\n+key\r\n+value\r\n" // an attribute before a push: skipped
          + ">3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n"
          + ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$5\r\nhello\r\n"
          + ">4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npx\r\n$0\r\n\r\n"
          + ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n" // another kind of push: skipped
          + ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$" + 2000 + "\r\n" + "x".repeat(2000) + "\r\n"
          + ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$3\r\nend\r\n";
      for (byte b : all.getBytes(StandardCharsets.UTF_8)) {
        p.out.write(b);
        p.out.flush();
      }
      sub.get(5, TimeUnit.SECONDS);
      psub.get(5, TimeUnit.SECONDS);
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("ch=hello");
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("p*:px=");
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("oversized 2000");
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("ch=end");
      assertThat(heard.disconnects.get()).isZero();
    }
  }

  @Test
  void eachValueASubscribedConnectionNeverGetsEndsInOneReconnectAndTheReaderLives() throws Exception {
    BlockingQueue<RespPeer> ready = new LinkedBlockingQueue<>();
    try (Server server = Server.redisLike(ready)) {
      Heard heard = new Heard();
      SocketPubSub r = started(server, heard);
      CompletableFuture<Void> sub = r.subscribe(utf8("ch"));
      RespPeer p = ready.take();
      p.confirm();
      sub.get(5, TimeUnit.SECONDS);
      List<String> hostile = List.of("_\r\n", ",1.5\r\n", "(123456789012345678901234567890\r\n", "%1\r\n+a\r\n+b\r\n",
          "$?\r\n;4\r\nabcd\r\n;0\r\n", "+PONG\r\n",
          ">3\r\n$7\r\nmessage\r\n_\r\n$1\r\nx\r\n", ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$?\r\n;1\r\nx\r\n;0\r\n",
          ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$-5\r\n", "-ERR nobody asked\r\n",
          ">3\r\n$9\r\nsubscribe\r\n$5\r\nother\r\n:1\r\n", "*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$1\r\nx\r\n");
      for (String bad : hostile) {
        int before = heard.disconnects.get();
        p.send(bad);
        await(bad).atMost(Duration.ofSeconds(5)).until(() -> heard.disconnects.get() == before + 1);
        p = ready.poll(5, TimeUnit.SECONDS);
        assertThat(p).as("a new connection after %s", bad).isNotNull();
        assertThat(p.confirm()).isEqualTo("SUBSCRIBE ch");
        p.send(">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nok\r\n");
        assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).as("after %s", bad).isEqualTo("ch=ok");
      }
      assertThat(readerThreads()).isEqualTo(1);
      assertThat(heard.disconnects.get()).isEqualTo(hostile.size());
    }
  }

  @Test
  void anErrorReplyToSubscribeFailsItsFutureKeepsTheConnectionAndIsNotSubscribedAgainAfterAReconnect() throws Exception {
    BlockingQueue<RespPeer> ready = new LinkedBlockingQueue<>();
    try (Server server = Server.redisLike(ready)) {
      Heard heard = new Heard();
      SocketPubSub r = started(server, heard);
      CompletableFuture<Void> ok = r.subscribe(utf8("ok"));
      CompletableFuture<Void> denied = r.subscribe(utf8("denied"));
      RespPeer p = ready.take();
      p.confirm();
      assertThat(p.command()).containsExactly("SUBSCRIBE", "denied");
      p.send("-NOPERM No permissions to access a channel\r\n");
      ok.get(5, TimeUnit.SECONDS);
      assertThatThrownBy(() -> denied.get(5, TimeUnit.SECONDS)).hasMessageContaining("SUBSCRIBE denied")
          .hasMessageContaining("NOPERM");
      p.send(">3\r\n$7\r\nmessage\r\n$2\r\nok\r\n$3\r\nyes\r\n");
      assertThat(heard.messages.poll(5, TimeUnit.SECONDS)).isEqualTo("ok=yes");
      assertThat(heard.disconnects.get()).isZero();

      p.socket.close(); // a loss: the reader subscribes again to what it is subscribed to
      RespPeer again = ready.poll(5, TimeUnit.SECONDS);
      assertThat(again).isNotNull();
      assertThat(again.confirm()).isEqualTo("SUBSCRIBE ok");
      // Nothing else: the denied channel was never subscribed and nobody waits for it.
      again.socket.setSoTimeout(500);
      assertThatThrownBy(again::command).as("a command after the resubscribe of ok")
          .isInstanceOf(java.net.SocketTimeoutException.class);
    }
  }

  @Test
  void aSubscribeWhileDisconnectedCompletesWithTheReconnectAndAnUnsubscribeAtOnce() throws Exception {
    BlockingQueue<RespPeer> ready = new LinkedBlockingQueue<>();
    try (Server server = Server.redisLike(ready)) {
      Heard heard = new Heard();
      SocketPubSub r = started(server, heard);
      CompletableFuture<Void> a = r.subscribe(utf8("a"));
      RespPeer p = ready.take();
      p.confirm();
      a.get(5, TimeUnit.SECONDS);
      // The next connection answers HELLO only after the test says so: the reader is down meanwhile.
      server.server.close();
      p.socket.close();
      await().atMost(Duration.ofSeconds(5)).until(() -> heard.disconnects.get() == 1);
      CompletableFuture<Void> late = r.subscribe(utf8("late"));
      CompletableFuture<Void> gone = r.unsubscribe(utf8("a"));
      CompletableFuture<Void> lateTwice = r.subscribe(utf8("late"));
      assertThat(gone).isCompleted();
      await().during(Duration.ofMillis(200)).atMost(Duration.ofSeconds(2)).until(() -> !late.isDone());
      assertThat(late).isNotDone();
      ServerSocket reopened = new ServerSocket();
      reopened.setReuseAddress(true);
      reopened.bind(new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()));
      try (reopened) {
        Socket s = reopened.accept();
        RespPeer q = new RespPeer(s);
        q.command();
        q.send("%0\r\n");
        assertThat(q.confirm()).isEqualTo("SUBSCRIBE late"); // once, not twice; not "a"
        late.get(5, TimeUnit.SECONDS);
        lateTwice.get(5, TimeUnit.SECONDS);
        q.socket.setSoTimeout(300);
        assertThatThrownBy(q::command).isInstanceOf(java.net.SocketTimeoutException.class);
        s.close();
      }
    }
  }

  @Test
  void aServerThatClosesRightAfterHelloIsRetriedWithBoundedBackOff() throws Exception {
    AtomicReference<Boolean> closeAfterHello = new AtomicReference<>(false);
    BlockingQueue<RespPeer> ready = new LinkedBlockingQueue<>();
    try (Server server = new Server(p -> {
      try {
        p.command();
        p.send("%0\r\n");
        if (closeAfterHello.get()) {
          p.socket.close();
        } else {
          ready.add(p);
        }
      } catch (IOException e) {
        // closed
      }
    })) {
      Heard heard = new Heard();
      SocketPubSub r = started(server, heard);
      CompletableFuture<Void> sub = r.subscribe(utf8("a"));
      RespPeer p = ready.take();
      p.confirm();
      sub.get(5, TimeUnit.SECONDS);
      closeAfterHello.set(true);
      p.socket.close();
      int start = server.accepted.get();
      Thread.sleep(3_000); // a measuring window: connects per 3 s
      int inThreeSeconds = server.accepted.get() - start;
      // 10, 20, 40 ... 640, 1000 ms: about 9 in 3 s
      assertThat(inThreeSeconds).isBetween(4, 14);
      // Never subscribed again: one loss that has not ended, not one gap per try.
      assertThat(heard.reconnects.get()).isZero();
      closeAfterHello.set(false);
      RespPeer back = ready.poll(5, TimeUnit.SECONDS);
      assertThat(back).isNotNull();
      assertThat(back.confirm()).isEqualTo("SUBSCRIBE a");
      await().atMost(Duration.ofSeconds(2)).until(() -> heard.reconnects.get() == 1);
    }
  }
  /**
   * A server that answers HELLO and then stops reading (a frozen peer, a network that black-holes
   * the connection): subscribes fill the socket's buffers. The interface promises that commands never
   * block on Redis; the caller (the hub, under its lock) must get its future back and time out on it.
   */
  @Test
  void subscribesToAServerThatStopsReadingNeverBlockTheCaller() throws Exception {
    BlockingQueue<RespPeer> ready = new LinkedBlockingQueue<>();
    try (Server server = Server.redisLike(ready)) {
      SocketPubSub r = reader(server.port(), false, Duration.ofSeconds(1), new Heard());
      java.util.concurrent.ScheduledExecutorService timer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
      closeLater.add(timer::shutdownNow);
      r.start(NO_EVENTS, timer);
      ready.take(); // and never read from again (nor the next connections)
      String padding = "x".repeat(1000);
      int total = 30_000; // 30 MB of SUBSCRIBE: more than the socket buffers hold
      AtomicInteger returned = new AtomicInteger();
      Thread caller = Thread.ofPlatform().daemon(true).start(() -> {
        for (int i = 0; i < total; i++) {
          r.subscribe(utf8(padding + i));
          returned.incrementAndGet();
        }
      });
      try {
        await().atMost(Duration.ofSeconds(10)).until(() -> returned.get() == total);
      } finally {
        System.out.printf("PUBSUB-PROBE a server that stops reading: %d of %d subscribe() calls returned%n",
            returned.get(), total);
        r.close();
        caller.join(5_000);
      }
      assertThat(caller.isAlive()).as("the caller after close").isFalse();
    }
  }
  @Test
  void closeDuringTenThousandSubscribesCompletesEveryFuture() throws Exception {
    BlockingQueue<RespPeer> ready = new LinkedBlockingQueue<>();
    try (Server server = Server.redisLike(ready)) {
      SocketPubSub r = started(server, new Heard());
      RespPeer p = ready.take();
      Thread confirmer = Thread.ofPlatform().daemon(true).start(() -> {
        try {
          while (true) {
            p.confirm(); // one by one, slowly enough that close comes in the middle
          }
        } catch (IOException closed) {
          // the reader closed
        }
      });
      List<CompletableFuture<Void>> all = new ArrayList<>();
      for (int i = 0; i < 10_000; i++) {
        all.add(i % 2 == 0 ? r.subscribe(utf8("c" + i)) : r.psubscribe(utf8("p" + i + "*")));
      }
      await().atMost(Duration.ofSeconds(5)).until(() -> all.stream().filter(CompletableFuture::isDone).count() > 100);
      r.close();
      assertThat(all).allMatch(CompletableFuture::isDone);
      long failed = all.stream().filter(CompletableFuture::isCompletedExceptionally).count();
      System.out.printf("PUBSUB-PROBE close during 10,000 subscribes: %d confirmed, %d failed as closed%n",
          all.size() - failed, failed);
      assertThat(failed).isPositive();
      assertThat(readerThreads()).isZero();
      assertThat(p.closedByReader(Duration.ofSeconds(2))).isTrue();
      confirmer.join(2_000);
    }
  }

  @Test
  void closeFromTheReaderThreadItselfEndsIt() throws Exception {
    BlockingQueue<RespPeer> ready = new LinkedBlockingQueue<>();
    try (Server server = Server.redisLike(ready)) {
      AtomicReference<SocketPubSub> self = new AtomicReference<>();
      CompletableFuture<Void> closedInside = new CompletableFuture<>();
      Heard heard = new Heard() {
        @Override
        public void message(byte[] channel, byte[] message) {
          self.get().close();
          closedInside.complete(null);
        }
      };
      SocketPubSub r = reader(server.port(), false, Duration.ofSeconds(2), heard);
      self.set(r);
      r.start(NO_EVENTS);
      CompletableFuture<Void> a = r.subscribe(utf8("a"));
      RespPeer p = ready.take();
      p.confirm();
      a.get(5, TimeUnit.SECONDS);
      CompletableFuture<Void> b = r.subscribe(utf8("b")); // never confirmed
      p.command();
      p.send(">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$3\r\nbye\r\n");
      closedInside.get(5, TimeUnit.SECONDS);
      await().atMost(Duration.ofSeconds(2)).until(() -> readerThreads() == 0);
      assertThat(b).isCompletedExceptionally();
      assertThat(p.closedByReader(Duration.ofSeconds(2))).isTrue();
      assertThat(heard.disconnects.get()).isZero();
    }
  }
}
