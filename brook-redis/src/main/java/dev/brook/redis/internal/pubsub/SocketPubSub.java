package dev.brook.redis.internal.pubsub;

import dev.brook.BrookException;
import dev.brook.internal.LogText;
import dev.brook.redis.internal.Backoffs;
import dev.brook.redis.internal.RedisConnections;
import io.lettuce.core.resource.Delay;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Brook's own Pub/Sub connection to a standalone Redis (issue 21): a blocking {@link Socket} (TLS
 * through {@link SSLSocketFactory} for {@code rediss://}) read by one platform thread, {@code
 * brook-pubsub-reader}, that parses RESP3 ({@link RespReader}) and hands each message to the
 * {@link Listener} where it read it. One wake-up per message at low rates, no event loop, no
 * double decode: Lettuce's subscriber cost 2.7–3.2 µs per message, a socket reader about 0.3.
 *
 * <p>Connect: {@code HELLO 3 [AUTH user password] SETNAME clientName}, as Lettuce names the
 * transport's other connections; the connect timeout bounds the TCP connect, the command timeout the
 * TLS and HELLO handshakes. Every connect runs on the reader thread; the first one's failure fails
 * {@link #start}.
 *
 * <p>Writes: callers write their (P)(UN)SUBSCRIBE under {@code writeLock} into a buffer, and the
 * last of the callers waiting for the lock flushes, so subscriptions started together leave as one
 * pipeline (10,000 in a few writes). Each command's future waits in {@code pending} for its
 * confirmation, which Redis sends in the order of the commands; an error reply fails the oldest.
 *
 * <p>Losses: a read that fails (the server closed, a reset, bytes that are not RESP3) ends the
 * socket; the reader tells the listener ({@code disconnected}), reconnects with the transport's
 * back-off (at once after a connection that lived a second or more, else 10 ms doubling to 1 s, so
 * a server that keeps sending garbage is not hammered), subscribes every channel and pattern in
 * {@code channels}/{@code patterns} again in one pipeline, and tells the listener ({@code
 * reconnected}). Subscribes sent while the connection was down, or cut off by the loss, complete
 * when their channel's subscription on the new connection is confirmed; unsubscribes complete at
 * once (the new connection never has them).
 *
 * <p>Silence: with the transport's timer, a connection that read nothing for an idle interval (the
 * larger of 10 s and the command timeout) is asked with a {@code PING} ({@code +PONG}, confirmed in
 * order through {@code pending}); no byte within the command timeout after it closes the TCP socket,
 * a loss like any other ({@link #watchIdle}). Without it a network that drops an idle connection in
 * silence leaves the reader deaf until TCP keepalive notices, hours later.
 *
 * <p>Messages over {@code maxMessageSize} are skipped as they are read, never held in memory (the
 * listener hears only their size); the reader's own memory is its 64 KiB buffer.
 *
 * <p>{@link #close()}: stops intake, closes the socket (which ends a blocked read or connect), wakes a
 * back-off, joins the thread (at most 2 s) and fails what was pending with the transport's "closed"
 * error.
 */
final class SocketPubSub implements PubSubConnection {

  private static final Logger LOG = LoggerFactory.getLogger("dev.brook.redis.PubSub");

  /** The transport's reconnect back-off, as Lettuce's ({@code LettuceClient}): 10 ms doubling to 1 s. */
  static final Delay RECONNECT = Backoffs.doubling(Duration.ofMillis(10), Duration.ofSeconds(1));
  /** A connection that lived this long was healthy: the next reconnect is immediate. */
  private static final long HEALTHY_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long LOG_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final int BUFFER = 64 * 1024;
  static final String THREAD_NAME = "brook-pubsub-reader";

  /**
   * Where and how to connect.
   *
   * @param verifyPeer for TLS: "NONE" (trust any certificate), "CA" (the chain only) or "FULL"
   *     (the chain and the host name), as the URL's {@code verifyPeer}
   * @param password null for none
   */
  record Settings(String host, int port, boolean tls, String verifyPeer, Path caCertificate, String user,
      char[] password, String clientName, Duration connectTimeout, Duration commandTimeout, int maxMessageSize,
      String masked) {}

  /** The server cannot be used this way (no RESP3): the caller uses Lettuce's connection instead. */
  static final class Unsupported extends RuntimeException {
    Unsupported(String message) {
      super(message, null, false, false);
    }
  }

  private enum Kind {
    SUBSCRIBE("SUBSCRIBE", "subscribe", false, true),
    UNSUBSCRIBE("UNSUBSCRIBE", "unsubscribe", false, false),
    PSUBSCRIBE("PSUBSCRIBE", "psubscribe", true, true),
    PUNSUBSCRIBE("PUNSUBSCRIBE", "punsubscribe", true, false),
    /** The idle check's question ({@link #watchIdle}): answered {@code +PONG}, never a push. */
    PING("PING", null, false, false);

    final byte[] command;
    final byte[] push;
    final boolean pattern;
    final boolean subscribes;

    Kind(String command, String push, boolean pattern, boolean subscribes) {
      this.command = command.getBytes(StandardCharsets.US_ASCII);
      this.push = push == null ? null : push.getBytes(StandardCharsets.US_ASCII);
      this.pattern = pattern;
      this.subscribes = subscribes;
    }
  }

  /** A command waiting for its confirmation; {@code future} null for a resubscribe nobody waits for. */
  private record Pending(Kind kind, byte[] name, CompletableFuture<Void> future) {}

  /** A channel or pattern name as a set key. */
  private record Name(byte[] bytes) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Name n && Arrays.equals(bytes, n.bytes);
    }

    @Override
    public int hashCode() {
      return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
      return new String(bytes, StandardCharsets.UTF_8);
    }
  }

  private static final byte[] MESSAGE = "message".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] PMESSAGE = "pmessage".getBytes(StandardCharsets.US_ASCII);

  private final Settings settings;
  private final Supplier<RuntimeException> closedError;
  private volatile Listener listener;
  /** The transport's bookkeeping of its connections' losses (counted, one WARN and one INFO). */
  private volatile RedisConnections.Events transport = new RedisConnections.Events() {
    @Override
    public void reconnected() {}
  };

  private final ReentrantLock writeLock = new ReentrantLock();
  // Guarded by writeLock:
  /** The current connection's output; null while down and after close. Written under writeLock. */
  private volatile OutputStream out;
  /** The socket being connected or connected (its TLS layer once there), for close(); null when none. */
  private volatile Socket socket;
  private volatile Socket plain;
  /** What the server should have subscribed: resubscribed after every reconnect. */
  private final Set<Name> channels = new LinkedHashSet<>();
  private final Set<Name> patterns = new LinkedHashSet<>();
  /** Subscribes sent while down, or cut off by a loss: complete with their resubscription. */
  private final List<Pending> waiting = new ArrayList<>();

  /** Sent on the current connection, in order; added under writeLock, polled by the reader. */
  private final ConcurrentLinkedQueue<Pending> pending = new ConcurrentLinkedQueue<>();
  private volatile boolean closed;
  private final java.util.concurrent.atomic.AtomicBoolean closeOnce = new java.util.concurrent.atomic.AtomicBoolean();
  private final CountDownLatch closing = new CountDownLatch(1);
  /** Counted down when the first close() has released everything: a concurrent second one waits for it. */
  private final CountDownLatch released = new CountDownLatch(1);
  private Thread reader;
  private long lastProblemLog;
  /**
   * The last resubscribe the latest {@link #publish} sent, or null when it sent none; on the reader
   * thread. A reconnect is announced when Redis has answered it, not when the socket opened: a server
   * that ends every connection right after HELLO is one loss (one gap, one WARN), not one per try.
   */
  private Pending lastResubscribe;
  private boolean reconnectUnannounced;
  /**
   * When the socket write in progress began (System.nanoTime()), 0 when none ({@link Watched}): a
   * blocking socket has no write timeout, so {@link #watchWrites} ends a connection whose server has
   * not taken a chunk of at most 64 KiB within the command timeout (it stopped reading, or the network
   * black-holes it), which frees the writer. Per chunk, so a long pipeline on a slow link is progress.
   */
  private volatile long writingSince;
  private volatile long lastStallLog;
  private volatile java.util.concurrent.ScheduledFuture<?> watch;
  /**
   * When the reader last got bytes from the socket (System.nanoTime(), set per socket read, not per
   * message): anything read, a message or a confirmation, shows the connection alive.
   */
  private volatile long lastRead = System.nanoTime();
  /**
   * Whether the reader waits in a socket read. Only then is a silence the server's: a reader busy
   * in the listener (a sink that waits) reads nothing either, while the bytes wait in the kernel.
   */
  private volatile boolean inRead;
  /**
   * After this long with nothing read, {@link #watchIdle} asks the server with a {@code PING}: the
   * larger of 10 s and the command timeout. A silent drop of an idle connection (a NAT or firewall
   * forgetting it, a host gone without a reset) is otherwise noticed by TCP keepalive after hours;
   * 10 s bounds the deaf time at about 10 s plus the command timeout, for one 14-byte command per idle
   * interval, and never more often than a command could be answered.
   */
  private volatile long idleNanos;
  // On the timer thread only (watchIdle):
  /** When the outstanding question was asked (0 when none), and {@link #lastRead} then. */
  private long askedAt;
  private long readWhenAsked;
  private long lastSilenceLog;
  private static final long IDLE_MIN_NANOS = TimeUnit.SECONDS.toNanos(10);
  private static final byte[] PONG = "PONG".getBytes(StandardCharsets.US_ASCII);
  /** Internal: milliseconds for the idle interval instead of the default, for tests only. */
  static final String IDLE_PROPERTY = "brook.internal.pubsubIdlePingMillis";

  SocketPubSub(Settings settings, Supplier<RuntimeException> closedError) {
    this.settings = settings;
    this.closedError = closedError;
    long idle = Math.max(IDLE_MIN_NANOS, settings.commandTimeout().toNanos());
    String override = System.getProperty(IDLE_PROPERTY);
    if (override != null) {
      try {
        idle = TimeUnit.MILLISECONDS.toNanos(Math.max(1, Long.parseLong(override.trim())));
      } catch (NumberFormatException e) {
        LOG.warn("Ignoring {}={}: not a number of milliseconds", IDLE_PROPERTY, LogText.escape(override));
      }
    }
    this.idleNanos = idle;
  }

  /** For tests: ask the server after {@code idle} without a read instead of the default. */
  void idleInterval(Duration idle) {
    this.idleNanos = idle.toNanos();
  }

  @Override
  public void listen(Listener l) {
    this.listener = l;
  }

  /**
   * Starts the reader thread and waits until it has connected (bounded by the connect timeout plus
   * twice the command timeout); fails when that first connect fails. The connect runs on the reader
   * thread, not the caller's: a blocking connect on a virtual thread (a start's) would create the
   * JDK's I/O pollers, descriptors that live as long as the JVM.
   *
   * @param transportEvents the transport's bookkeeping of connection losses
   * @throws Unsupported when the server does not speak RESP3 ({@code HELLO} unknown): use Lettuce
   */
  void start(RedisConnections.Events transportEvents) {
    start(transportEvents, null);
  }

  /**
   * {@link #start(RedisConnections.Events)}, with {@code timer} checking every quarter of the command
   * timeout that no write is stuck ({@link #watchWrites}); null for no such check.
   */
  void start(RedisConnections.Events transportEvents, java.util.concurrent.ScheduledExecutorService timer) {
    this.transport = transportEvents;
    CompletableFuture<RespReader> first = new CompletableFuture<>();
    Thread t = Thread.ofPlatform().name(THREAD_NAME).daemon(true).unstarted(() -> {
      RespReader in;
      try {
        in = publish(open());
      } catch (Throwable e) {
        first.completeExceptionally(e);
        return;
      }
      if (first.complete(in)) {
        run(in);
      } // else the caller gave up waiting and closes this
    });
    writeLock.lock();
    try {
      if (closed) {
        throw closed();
      }
      reader = t;
      t.start();
      if (timer != null) {
        long every = Math.max(TimeUnit.MILLISECONDS.toNanos(100), settings.commandTimeout().toNanos() / 4);
        watch = timer.scheduleWithFixedDelay(this::watch, every, every, TimeUnit.NANOSECONDS);
      }
    } finally {
      writeLock.unlock();
    }
    Duration bound = settings.connectTimeout().plus(settings.commandTimeout().multipliedBy(2));
    try {
      first.get(bound.toMillis(), TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Unsupported || cause instanceof BrookException) {
        throw (RuntimeException) cause;
      }
      if (closed) {
        throw closed();
      }
      throw new BrookException("No Redis at " + settings.masked() + " for the Pub/Sub connection (" + reason(cause)
          + "). Start redis-server there or pass another URL.", cause);
    } catch (java.util.concurrent.TimeoutException e) {
      first.completeExceptionally(e);
      throw new BrookException("No Redis at " + settings.masked() + " for the Pub/Sub connection (no connection within "
          + bound.toMillis() + " ms: connectTimeout plus twice commandTimeout). Check that Redis answers there.", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      first.completeExceptionally(e);
      throw new BrookException("Interrupted while connecting the Pub/Sub connection to " + settings.masked() + ".", e);
    }
  }

  private RuntimeException closed() {
    RuntimeException e = closedError.get();
    return e != null ? e : new IllegalStateException("The Pub/Sub connection to " + settings.masked() + " is closed.");
  }

  private static String reason(Throwable e) {
    if (e instanceof java.net.ConnectException) {
      return "connection refused";
    }
    if (e instanceof java.net.SocketTimeoutException) {
      return "no answer in time";
    }
    if (e instanceof javax.net.ssl.SSLException) {
      return "TLS handshake failed: " + e.getMessage();
    }
    return e.getClass().getSimpleName() + ": " + e.getMessage();
  }

  // ---- connecting --------------------------------------------------------------------------------

  /** A socket connected and past HELLO, with the reader that read HELLO's reply (and will read on). */
  private record Opened(Socket socket, RespReader in) {}

  /** A connected socket after HELLO, not yet published for writers. */
  private Opened open() throws IOException {
    Socket s = new Socket();
    writeLock.lock();
    try {
      if (closed) {
        throw closed();
      }
      plain = s;
      socket = s;
    } finally {
      writeLock.unlock();
    }
    try {
      s.connect(new InetSocketAddress(settings.host(), settings.port()), (int) settings.connectTimeout().toMillis());
      s.setTcpNoDelay(true);
      s.setKeepAlive(true);
      s.setSoTimeout((int) Math.max(1, settings.commandTimeout().toMillis()));
      Socket c = s;
      if (settings.tls()) {
        SSLSocket ssl = (SSLSocket) sslFactory().createSocket(s, settings.host(), settings.port(), true);
        if ("FULL".equals(settings.verifyPeer())) {
          SSLParameters p = ssl.getSSLParameters();
          p.setEndpointIdentificationAlgorithm("HTTPS");
          ssl.setSSLParameters(p);
        }
        writeLock.lock();
        try {
          socket = ssl;
        } finally {
          writeLock.unlock();
        }
        ssl.startHandshake();
        c = ssl;
      }
      RespReader in = new RespReader(new Alive(c.getInputStream()), BUFFER);
      hello(c, in);
      c.setSoTimeout(0); // a subscribed connection may hear nothing for hours
      return new Opened(c, in);
    } catch (IOException | RuntimeException e) {
      closeQuietly(s);
      throw e;
    }
  }

  private void hello(Socket c, RespReader r) throws IOException {
    OutputStream o = c.getOutputStream();
    List<byte[]> args = new ArrayList<>(List.of(bytes("HELLO"), bytes("3")));
    if (settings.password() != null) {
      args.add(bytes("AUTH"));
      args.add(bytes(settings.user() != null ? settings.user() : "default"));
      args.add(utf8(settings.password()));
    }
    args.add(bytes("SETNAME"));
    args.add(bytes(settings.clientName()));
    writeCommand(o, args.toArray(byte[][]::new));
    o.flush();
    int type = r.read();
    if (type == '-') {
      String error = r.line();
      if (error.startsWith("NOPROTO") || error.startsWith("ERR unknown command")) {
        throw new Unsupported("Redis at " + settings.masked() + " does not speak RESP3 (" + error + ")");
      }
      if (error.startsWith("WRONGPASS")) {
        throw new BrookException("Redis at " + settings.masked() + " rejected the credentials (" + error
            + ") on the Pub/Sub connection. Check the user and password in the URL: redis://user:password@host:port.");
      }
      throw new BrookException("Redis at " + settings.masked() + " refused the Pub/Sub connection's HELLO (" + error + ").");
    }
    r.skipValue(type); // the server's map: version, role, modules
  }

  private SSLSocketFactory sslFactory() throws IOException {
    try {
      if ("NONE".equals(settings.verifyPeer())) {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, new TrustManager[] {new TrustingAll()}, null);
        return ctx.getSocketFactory();
      }
      if (settings.caCertificate() == null) {
        return (SSLSocketFactory) SSLSocketFactory.getDefault();
      }
      KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
      store.load(null, null);
      try (InputStream pem = Files.newInputStream(settings.caCertificate())) {
        int i = 0;
        for (Certificate cert : CertificateFactory.getInstance("X.509").generateCertificates(pem)) {
          store.setCertificateEntry("ca-" + i++, cert);
        }
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(store);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(null, tmf.getTrustManagers(), null);
      return ctx.getSocketFactory();
    } catch (java.security.GeneralSecurityException e) {
      throw new IOException("cannot set up TLS with " + settings.caCertificate() + ": " + e.getMessage(), e);
    }
  }

  /** {@code verifyPeer=NONE}: any certificate, as the URL asked. */
  private static final class TrustingAll extends X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }

  /**
   * Makes a connected socket the current one: subscribes again to every channel and pattern (one
   * pipeline), chains the waiting subscribes to their resubscription, and lets writers in.
   */
  private RespReader publish(Opened opened) throws IOException {
    Socket s = opened.socket();
    RespReader in = opened.in();
    OutputStream o = new BufferedOutputStream(new Watched(s.getOutputStream()), BUFFER);
    writeLock.lock();
    try {
      if (closed) {
        closeQuietly(s);
        throw closed();
      }
      Map<Name, List<CompletableFuture<Void>>> waiters = new HashMap<>();
      for (Pending w : waiting) {
        Set<Name> set = w.kind().pattern ? patterns : channels;
        Name n = new Name(w.name());
        if (set.contains(n)) {
          waiters.computeIfAbsent(n, k -> new ArrayList<>()).add(w.future());
        } else {
          w.future().complete(null); // unsubscribed meanwhile
        }
      }
      waiting.clear();
      lastResubscribe = null;
      socket = s; // before writing: a stuck write is ended by closing it
      try {
        resubscribe(o, Kind.SUBSCRIBE, channels, waiters);
        resubscribe(o, Kind.PSUBSCRIBE, patterns, waiters);
        o.flush();
      } catch (IOException e) {
        closeQuietly(s); // the reader's first read fails: a loss like any other
      }
      out = o;
    } finally {
      writeLock.unlock();
    }
    return in;
  }

  private void resubscribe(OutputStream o, Kind kind, Set<Name> names, Map<Name, List<CompletableFuture<Void>>> waiters)
      throws IOException {
    for (Name n : names) {
      List<CompletableFuture<Void>> w = waiters.get(n);
      CompletableFuture<Void> f = null;
      if (w != null) {
        f = new CompletableFuture<>();
        f.whenComplete((ok, e) -> w.forEach(x -> {
          if (e != null) {
            x.completeExceptionally(e);
          } else {
            x.complete(null);
          }
        }));
      }
      Pending p = new Pending(kind, n.bytes(), f);
      pending.add(p);
      lastResubscribe = p;
      writeCommand(o, kind.command, n.bytes());
    }
  }

  // ---- commands ----------------------------------------------------------------------------------

  @Override
  public CompletableFuture<Void> subscribe(byte[] channel) {
    return command(Kind.SUBSCRIBE, channel);
  }

  @Override
  public CompletableFuture<Void> unsubscribe(byte[] channel) {
    return command(Kind.UNSUBSCRIBE, channel);
  }

  @Override
  public CompletableFuture<Void> psubscribe(byte[] pattern) {
    return command(Kind.PSUBSCRIBE, pattern);
  }

  @Override
  public CompletableFuture<Void> punsubscribe(byte[] pattern) {
    return command(Kind.PUNSUBSCRIBE, pattern);
  }

  private CompletableFuture<Void> command(Kind kind, byte[] name) {
    CompletableFuture<Void> f = new CompletableFuture<>();
    writeLock.lock();
    try {
      if (closed) {
        f.completeExceptionally(closed());
        return f;
      }
      Set<Name> set = kind.pattern ? patterns : channels;
      Name n = new Name(name);
      if (kind.subscribes) {
        set.add(n);
      } else {
        set.remove(n);
      }
      OutputStream o = out;
      if (o == null) {
        if (kind.subscribes) {
          waiting.add(new Pending(kind, name, f));
        } else {
          f.complete(null); // the next connection will not have it
        }
        return f;
      }
      pending.add(new Pending(kind, name, f));
      try {
        writeCommand(o, kind.command, name);
        if (!writeLock.hasQueuedThreads()) {
          o.flush(); // else the next holder flushes: concurrent (un)subscribes leave together
        }
      } catch (IOException e) {
        // The reader sees the loss too and moves what is pending to the next connection.
        LOG.debug("Writing {} to {} failed", kind, settings.masked(), e);
        closeQuietly(socket);
      }
    } finally {
      writeLock.unlock();
    }
    return f;
  }

  private static void writeCommand(OutputStream o, byte[]... args) throws IOException {
    o.write('*');
    o.write(bytes(Integer.toString(args.length)));
    o.write('\r');
    o.write('\n');
    for (byte[] a : args) {
      o.write('$');
      o.write(bytes(Integer.toString(a.length)));
      o.write('\r');
      o.write('\n');
      o.write(a);
      o.write('\r');
      o.write('\n');
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] utf8(char[] chars) {
    java.nio.ByteBuffer b = StandardCharsets.UTF_8.encode(java.nio.CharBuffer.wrap(chars));
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }

  @Override
  public Duration timeout() {
    return settings.commandTimeout();
  }

  @Override
  public boolean isOpen() {
    return out != null; // not under writeLock: a caller waiting for it would keep a writer from flushing
  }

  // ---- reading -----------------------------------------------------------------------------------

  private void run(RespReader first) {
    RespReader in = first;
    int attempt = 0;
    while (!closed) {
      long since = System.nanoTime();
      try {
        readLoop(in);
      } catch (RespReader.ProtocolException e) {
        if (!closed) {
          problem("Redis at {} sent bytes on the Pub/Sub connection that are not RESP3 ({}); reconnecting.", e.getMessage());
        }
      } catch (IOException e) {
        if (!closed) {
          LOG.debug("The Pub/Sub connection to {} ended", settings.masked(), e);
        }
      } catch (RuntimeException | Error e) {
        if (!closed) {
          problem("The Pub/Sub reader of {} failed ({}); reconnecting.", e.toString());
        }
      }
      if (closed) {
        break;
      }
      lost();
      attempt = System.nanoTime() - since >= HEALTHY_NANOS ? 0 : attempt + 1;
      in = reconnect(attempt);
    }
  }

  /** Rate-limited WARN (one per 10 s) for what should not happen: garbage, a reader failure. */
  private void problem(String format, String detail) {
    long now = System.nanoTime();
    if (lastProblemLog == 0 || now - lastProblemLog > LOG_EVERY_NANOS) {
      lastProblemLog = now;
      LOG.warn(format, settings.masked(), LogText.escape(detail));
    } else {
      LOG.debug(format, settings.masked(), LogText.escape(detail));
    }
  }

  /** The socket is gone: writers wait for the next one; what was sent and not confirmed moves there. */
  private void lost() {
    reconnectUnannounced = false; // a reconnect not yet announced is part of the same gap
    Socket s;
    List<Pending> cut = new ArrayList<>();
    writeLock.lock();
    try {
      s = socket;
      out = null;
      socket = null;
      plain = null;
      for (Pending p; (p = pending.poll()) != null; ) {
        if (p.future() == null) {
          continue; // a resubscribe: the set has it
        }
        if (p.kind().subscribes) {
          waiting.add(p);
        } else {
          cut.add(p);
        }
      }
    } finally {
      writeLock.unlock();
    }
    closeQuietly(s);
    cut.forEach(p -> p.future().complete(null)); // not subscribed on the next connection
    notifyDisconnected();
  }

  private void notifyDisconnected() {
    try {
      transport.disconnected();
      Listener l = listener;
      if (l != null) {
        l.disconnected();
      }
    } catch (RuntimeException e) {
      LOG.warn("Reporting the loss of the Pub/Sub connection to {} failed", settings.masked(), e);
    }
  }

  /** Reconnects until it succeeds or the connection is closed (then null), waiting the back-off between tries. */
  private RespReader reconnect(int firstAttempt) {
    int attempt = firstAttempt;
    while (!closed) {
      if (attempt > 0 && pause(RECONNECT.createDelay(attempt))) {
        return null;
      }
      attempt++;
      try {
        RespReader in = publish(open());
        reconnectUnannounced = true;
        if (lastResubscribe == null) {
          announceReconnected(); // nothing to subscribe again
        }
        return in;
      } catch (IOException | RuntimeException e) {
        if (closed) {
          return null;
        }
        if (e instanceof RuntimeException) {
          // The server refused HELLO (a password changed, a user disabled): say why, or the reader
          // retries in silence for ever.
          problem("Reconnecting the Pub/Sub connection to {} failed: {}; retrying with back-off.", e.getMessage());
        } else {
          LOG.debug("Reconnecting the Pub/Sub connection to {} failed (attempt {})", settings.masked(), attempt, e);
        }
      }
    }
    return null;
  }

  /**
   * On the transport's timer: a write that has not completed within the command timeout means the
   * server does not read (or the network drops everything); closing the socket ends the write, and
   * the reader reconnects as after any loss. Without it a (P)(UN)SUBSCRIBE would block its caller,
   * and the hub's lock with it, until the kernel gives up on the connection (many minutes).
   */
  private void watch() {
    watchWrites();
    watchIdle();
  }

  private void watchWrites() {
    long since = writingSince;
    if (since == 0 || closed || System.nanoTime() - since <= settings.commandTimeout().toNanos()) {
      return;
    }
    long now = System.nanoTime();
    if (lastStallLog == 0 || now - lastStallLog > LOG_EVERY_NANOS) {
      lastStallLog = now;
      LOG.warn("Redis at {} has not read the Pub/Sub connection's commands for more than the command timeout of {} ms; "
          + "reconnecting.", settings.masked(), settings.commandTimeout().toMillis());
    }
    closeTcp();
  }

  /**
   * The TCP socket, not its TLS layer: closing an SSLSocket sends close_notify, which would wait
   * behind a stuck write on this, the transport's timer thread. The reader's read fails, and it
   * reconnects as after any loss.
   */
  private void closeTcp() {
    Socket p = plain;
    closeQuietly(p != null ? p : socket);
  }

  /**
   * On the transport's timer: after {@link #idleNanos} with nothing read the server is asked (a
   * {@code PING}); when no byte at all arrives within the command timeout after that, the connection
   * is dead (the network dropped it in silence) and is closed like a stuck write's. Without it an
   * idle subscriber stays deaf until TCP keepalive notices, hours later.
   *
   * <p>The PING is written only when nothing waits for an answer, all that was written was answered
   * and so taken by the server, and the 14 bytes cannot block this shared thread on a full send
   * buffer. A confirmation still owed is itself the question: Redis answers in order, so no byte for
   * the command timeout after the check found one owed means the same as no PONG. The PING is written
   * when no writer holds the lock (else the next tick asks): the timer never waits behind a writer.
   */
  private void watchIdle() {
    if (closed || out == null || !inRead) {
      askedAt = 0; // a busy reader is asked again once it waits
      return;
    }
    long now = System.nanoTime();
    long read = lastRead;
    if (askedAt != 0) {
      if (read != readWhenAsked) {
        askedAt = 0; // something came: alive
      } else if (now - askedAt > settings.commandTimeout().toNanos()) {
        askedAt = 0;
        if (lastSilenceLog == 0 || now - lastSilenceLog > LOG_EVERY_NANOS) {
          lastSilenceLog = now;
          LOG.warn("Redis at {} sent nothing on the idle Pub/Sub connection for {} ms and did not answer a PING within the "
              + "command timeout of {} ms; the connection is dead, reconnecting.", settings.masked(),
              TimeUnit.NANOSECONDS.toMillis(now - read), settings.commandTimeout().toMillis());
        }
        closeTcp();
        return;
      } else {
        return;
      }
    }
    if (now - read < idleNanos) {
      return;
    }
    if (!pending.isEmpty()) {
      askedAt = now; // an answer is owed already
      readWhenAsked = read;
      return;
    }
    if (!writeLock.tryLock()) {
      return;
    }
    try {
      OutputStream o = out;
      if (closed || o == null || writingSince != 0 || !pending.isEmpty()) {
        return;
      }
      pending.add(new Pending(Kind.PING, null, null));
      askedAt = now;
      readWhenAsked = read;
      try {
        writeCommand(o, Kind.PING.command);
        o.flush();
      } catch (IOException e) {
        LOG.debug("Writing PING to {} failed", settings.masked(), e);
        closeTcp(); // the reader sees the loss too
      }
    } finally {
      writeLock.unlock();
    }
  }

  /** The socket's input, noting when it last gave bytes for {@link #watchIdle}. */
  private final class Alive extends java.io.FilterInputStream {
    Alive(InputStream in) {
      super(in);
    }

    // The silence counts from when the reader began to wait, not from the last bytes: time in the
    // listener is not the server's.
    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      lastRead = System.nanoTime();
      inRead = true;
      int n;
      try {
        n = in.read(b, off, len);
      } finally {
        inRead = false;
      }
      if (n > 0) {
        lastRead = System.nanoTime();
      }
      return n;
    }

    @Override
    public int read() throws IOException {
      byte[] one = new byte[1];
      return read(one, 0, 1) <= 0 ? -1 : one[0] & 0xff;
    }
  }

  /** The socket's output, timing each write for {@link #watchWrites}. */
  private final class Watched extends java.io.FilterOutputStream {
    Watched(OutputStream out) {
      super(out);
    }

    @Override
    public void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
      writingSince = System.nanoTime();
      try {
        out.write(b, off, len);
      } finally {
        writingSince = 0;
      }
    }

    @Override
    public void flush() throws IOException {
      writingSince = System.nanoTime();
      try {
        out.flush();
      } finally {
        writingSince = 0;
      }
    }
  }

  /** The resubscribes after a reconnect are answered: the gap ends. */
  private void announceReconnected() {
    reconnectUnannounced = false;
    try {
      transport.reconnected();
      Listener l = listener;
      if (l != null) {
        l.reconnected();
      }
    } catch (RuntimeException e) {
      LOG.warn("Reporting the reconnect of the Pub/Sub connection to {} failed", settings.masked(), e);
    }
  }

  /** Called with each command Redis answered: the last resubscribe's answer announces the reconnect. */
  private void answered(Pending p) {
    if (reconnectUnannounced && p == lastResubscribe) {
      announceReconnected();
    }
  }

  /** Waits {@code delay}; true when close() ended the wait. */
  private boolean pause(Duration delay) {
    try {
      return closing.await(delay.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      return closed; // only close() interrupts this thread
    }
  }

  private void readLoop(RespReader in) throws IOException {
    if (in == null) {
      return; // closed while reconnecting
    }
    while (true) {
      int type = in.read();
      switch (type) {
        case '>' -> push(in, in.count());
        case '-' -> error(in.line());
        case '+' -> pong(in.line());
        case '|' -> skipRest(in, 2 * in.count()); // attributes: they describe the reply after them, which the loop reads next
        default -> throw new RespReader.ProtocolException("expected a push, got " + RespReader.describe(type));
      }
    }
  }

  private void push(RespReader in, long n) throws IOException {
    if (n < 1) {
      throw new RespReader.ProtocolException("a push of " + n + " elements");
    }
    long kindLength = in.bulkLength();
    if (kindLength < 0) {
      throw new RespReader.ProtocolException("a push without a kind");
    }
    // The six kinds have six different lengths: one comparison each, no String per push.
    if (kindLength == MESSAGE.length) {
      if (in.bulkBodyIs(kindLength, MESSAGE) && n == 3) {
        payload(in, null, name(in));
      } else {
        skipRest(in, n - 1);
      }
      return;
    }
    if (kindLength == PMESSAGE.length) {
      if (in.bulkBodyIs(kindLength, PMESSAGE) && n == 4) {
        byte[] pattern = name(in);
        payload(in, pattern, name(in));
      } else {
        skipRest(in, n - 1);
      }
      return;
    }
    Kind kind = null;
    for (Kind k : Kind.values()) {
      if (k.push != null && k.push.length == kindLength) {
        kind = k;
      }
    }
    if (kind == null) {
      in.skipBulkBody(kindLength); // another kind of push (client tracking's invalidate): not for this connection
      skipRest(in, n - 1);
      return;
    }
    if (!in.bulkBodyIs(kindLength, kind.push) || n != 3) {
      skipRest(in, n - 1);
      return;
    }
    long nameLength = in.bulkLength();
    byte[] name = nameLength < 0 ? null : in.bulkBody(boundedName(nameLength));
    in.skipValue(); // the count of subscriptions
    confirmed(kind, name);
  }

  private void skipRest(RespReader in, long n) throws IOException {
    for (long i = 0; i < n; i++) {
      in.skipValue();
    }
  }

  /** A channel or pattern name, bounded like a message (a name can come from the publisher, through a pattern). */
  private byte[] name(RespReader in) throws IOException {
    long n = in.bulkLength();
    if (n < 0) {
      throw new RespReader.ProtocolException("a message without a channel");
    }
    return in.channelBody(boundedName(n));
  }

  private int boundedName(long n) throws RespReader.ProtocolException {
    if (n > Math.max(settings.maxMessageSize(), 64 * 1024)) {
      throw new RespReader.ProtocolException("a channel name of " + n + " bytes");
    }
    return (int) n;
  }

  private void payload(RespReader in, byte[] pattern, byte[] channel) throws IOException {
    long n = in.bulkLength();
    if (n < 0) {
      throw new RespReader.ProtocolException("a message without a payload");
    }
    Listener l = listener;
    if (n > settings.maxMessageSize()) {
      in.skipBulkBody(n);
      l.oversized(pattern, channel, n);
      return;
    }
    byte[] message = in.bulkBody((int) n);
    if (pattern == null) {
      l.message(channel, message);
    } else {
      l.message(pattern, channel, message);
    }
  }

  private void confirmed(Kind kind, byte[] name) throws IOException {
    Pending p = pending.poll();
    if (p == null || p.kind() != kind || !Arrays.equals(p.name(), name)) {
      throw new RespReader.ProtocolException("a " + kind.name().toLowerCase(java.util.Locale.ROOT) + " confirmation of '"
          + (name == null ? "null" : new String(name, StandardCharsets.UTF_8)) + "' where "
          + (p == null ? "none was expected" : p.kind() + (p.name() == null ? "" : " " + new String(p.name(), StandardCharsets.UTF_8)) + " was"));
    }
    if (p.future() != null) {
      p.future().complete(null);
    }
    answered(p);
  }

  /** A simple string: only a PING's answer, in its place among the confirmations. */
  private void pong(String text) throws IOException {
    Pending p = pending.poll();
    if (p == null || p.kind() != Kind.PING || !text.equals("PONG")) {
      throw new RespReader.ProtocolException("a simple string '" + text + "' where "
          + (p == null ? "none was expected" : p.kind() + " was"));
    }
  }

  private void error(String text) throws IOException {
    Pending p = pending.poll();
    if (p == null) {
      throw new RespReader.ProtocolException("an error nothing asked for: " + text);
    }
    if (p.kind() == Kind.PING) {
      problem("Redis at {} answered the idle check's PING on the Pub/Sub connection with an error: {}", text);
      return; // an answer all the same: the connection is alive
    }
    BrookException e = new BrookException("Redis answered " + p.kind() + " " + LogText.escape(new String(p.name(),
        StandardCharsets.UTF_8)) + " with " + LogText.escape(text));
    if (p.future() != null) {
      if (p.kind().subscribes) {
        forget(p);
      }
      p.future().completeExceptionally(e);
    } else {
      problem("Subscribing again after a reconnect to {} failed: {}", e.getMessage());
    }
    answered(p);
  }

  /**
   * A subscribe Redis refused (an ACL without the channel) is not subscribed: it leaves the set, so
   * that no reconnect subscribes it again, unless a later command of that name decides otherwise.
   */
  private void forget(Pending refused) {
    writeLock.lock();
    try {
      for (Pending later : pending) {
        if (later.kind().pattern == refused.kind().pattern && Arrays.equals(later.name(), refused.name())) {
          return;
        }
      }
      (refused.kind().pattern ? patterns : channels).remove(new Name(refused.name()));
    } finally {
      writeLock.unlock();
    }
  }

  // ---- closing -----------------------------------------------------------------------------------

  @Override
  public void close() {
    if (!closeOnce.compareAndSet(false, true)) {
      awaitReleased();
      return;
    }
    try {
      release();
    } finally {
      released.countDown();
    }
  }

  /** A second close() returns when the first has released everything, as the first does (not on the reader: it joins that). */
  private void awaitReleased() {
    if (Thread.currentThread() == reader) {
      return;
    }
    try {
      released.await(3, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void release() {
    Thread t;
    Socket s;
    Socket p;
    List<Pending> cut = new ArrayList<>();
    // First, without the lock: a writer blocked on a server that does not read is ended by this.
    closed = true;
    closing.countDown();
    closeQuietly(plain); // the TCP socket first: a TLS layer's close would wait behind a stuck write
    closeQuietly(socket);
    writeLock.lock();
    try {
      if (watch != null) {
        watch.cancel(false); // under the lock: start() schedules it under the lock
      }
      out = null;
      s = socket;
      p = plain;
      socket = null;
      plain = null;
      t = reader;
      cut.addAll(waiting);
      waiting.clear();
      channels.clear();
      patterns.clear();
      // Under the lock: a reader's lost() (also under it) must not move them to waiting after it was emptied.
      for (Pending x; (x = pending.poll()) != null; ) {
        cut.add(x);
      }
    } finally {
      writeLock.unlock();
    }
    closeQuietly(s);
    closeQuietly(p);
    RuntimeException error = closed();
    for (Pending x : cut) {
      if (x.future() != null) {
        x.future().completeExceptionally(error);
      }
    }
    if (t != null && t != Thread.currentThread()) {
      try {
        if (!t.join(Duration.ofSeconds(2))) {
          LOG.warn("Thread {} of the Pub/Sub connection to {} did not end within 2 s of closing.", t.getName(),
              settings.masked());
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void closeQuietly(Socket s) {
    if (s == null) {
      return;
    }
    try {
      s.close();
    } catch (IOException | RuntimeException e) {
      LOG.debug("Closing the Pub/Sub socket to {} failed", settings.masked(), e);
    }
  }
}
