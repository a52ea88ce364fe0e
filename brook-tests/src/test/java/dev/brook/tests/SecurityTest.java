package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.BrookException;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Envelope;
import dev.brook.testing.RedisServer;
import dev.brook.testing.TlsCertificates;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Credentials (ACL users, requirepass), TLS with a private CA, secrets kept out of logs, messages
 * and toString()s, bounded message sizes, and message-controlled text never reaching Redis as
 * anything but data.
 */
class SecurityTest extends RedisTestBase {

  private static final String SECRET = "S3cret-Pa55+w/rd";
  private static final String ENCODED = URLEncoder.encode(SECRET, StandardCharsets.UTF_8);

  private String base() {
    return "127.0.0.1:" + redis.port();
  }

  // ---- credentials -----------------------------------------------------------------------------

  @Test
  void anAclUserInTheUrlConnectsAndEveryKindWorks() {
    redis.command("ACL", "SETUSER", "app", "reset", "on", ">" + SECRET, "~*", "&*", "+@all");
    try {
      RedisBroker broker = RedisBroker.builder().url("redis://app:" + ENCODED + "@" + base()).clientName("acl-app").build();
      closeLater(broker);
      Calls<String> onChannel = new Calls<>();
      Calls<String> onList = new Calls<>();
      Calls<String> onStream = new Calls<>();
      broker.subscriber(channel("acl.ch")).handle(String.class, onChannel);
      broker.subscriber(list("acl-jobs")).handle(String.class, onList);
      broker.subscriber(stream("acl-events").group("g")).handle(String.class, onStream);
      broker.start();
      broker.publish("hi", channel("acl.ch"));
      broker.publish("job", list("acl-jobs"));
      broker.publish("event", stream("acl-events"));
      assertThat(onChannel.awaitOne().payload()).isEqualTo("hi");
      assertThat(onList.awaitOne().payload()).isEqualTo("job");
      assertThat(onStream.awaitOne().payload()).isEqualTo("event");
      String clients = (String) redis.command("CLIENT", "LIST");
      assertThat(clients.lines().filter(l -> l.contains(" name=acl-app ")))
          .hasSize(4) // commands, Pub/Sub, the list's and the stream's blocking reads
          .allMatch(l -> l.contains(" user=app "));
      assertThat(broker.toString()).isEqualTo("RedisBroker[redis://app:****@" + base() + "]");
    } finally {
      redis.command("ACL", "DELUSER", "app");
    }
  }

  @Test
  void requirepassWithThePasswordInTheUrl() {
    try (RedisServer secured = RedisServer.builder().password(SECRET).start();
        RedisBroker broker = RedisBroker.create("redis://:" + ENCODED + "@127.0.0.1:" + secured.port())) {
      Calls<String> recorder = new Calls<>();
      broker.subscriber(channel("pw")).handle(String.class, recorder);
      broker.start();
      broker.publish("authenticated", channel("pw"));
      assertThat(recorder.awaitOne().payload()).isEqualTo("authenticated");
      assertThat(broker.url()).isEqualTo("redis://:****@127.0.0.1:" + secured.port());
    }
  }

  @Test
  void wrongCredentialsFailStartWithAClearMessage() {
    redis.command("ACL", "SETUSER", "app", "reset", "on", ">" + SECRET, "~*", "&*", "+@all");
    try (RedisServer secured = RedisServer.builder().password(SECRET).start()) {
      String securedBase = "127.0.0.1:" + secured.port();
      assertStartFails("redis://app:wrong-" + ENCODED + "@" + base(),
          "Redis at redis://app:****@" + base() + " rejected the credentials (WRONGPASS invalid username-password pair "
              + "or user is disabled.). Check the user and password in the URL: redis://user:password@host:port.");
      assertStartFails("redis://nobody:" + ENCODED + "@" + base(),
          "Redis at redis://nobody:****@" + base() + " rejected the credentials (WRONGPASS invalid username-password "
              + "pair or user is disabled.). Check the user and password in the URL: redis://user:password@host:port.");
      assertStartFails("redis://:wrong" + ENCODED + "@" + securedBase,
          "Redis at redis://:****@" + securedBase + " rejected the credentials (WRONGPASS invalid username-password "
              + "pair or user is disabled.). Check the user and password in the URL: redis://user:password@host:port.");
      assertStartFails("redis://" + securedBase,
          "Redis at redis://" + securedBase + " requires authentication (NOAUTH HELLO must be called with the client "
              + "already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the "
              + "client and select the RESP protocol version at the same time). Put the user and password in the URL: "
              + "redis://user:password@host:port.");
    } finally {
      redis.command("ACL", "DELUSER", "app");
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(Threads.brookThreads()).isEmpty());
  }

  private static void assertStartFails(String url, String message) {
    try (RedisBroker broker = RedisBroker.create(url)) {
      broker.subscriber(channel("x")).handle(String.class, new Calls<>());
      assertThatThrownBy(broker::start).isInstanceOf(BrookException.class).hasMessage(message);
    }
  }

  // ---- secrets ---------------------------------------------------------------------------------

  @Test
  void passwordsNeverAppearInLogsExceptionMessagesOrToStrings() {
    List<String> seen = new ArrayList<>();
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
    Logger brook = (Logger) LoggerFactory.getLogger("dev.brook");
    Logger lettuce = (Logger) LoggerFactory.getLogger("io.lettuce");
    Level brookLevel = brook.getLevel();
    Level lettuceLevel = lettuce.getLevel();
    log.start();
    root.addAppender(log);
    brook.setLevel(Level.DEBUG);
    lettuce.setLevel(Level.DEBUG); // Lettuce's TRACE writes raw protocol bytes, AUTH included: never enable it
    redis.command("ACL", "SETUSER", "app", "reset", "on", ">" + SECRET, "~*", "&*", "+@all");
    try (RedisServer secured = RedisServer.builder().password(SECRET).start()) {
      String good = "redis://app:" + ENCODED + "@" + base();
      // A working broker through a lost connection, its subscriptions, metrics and close.
      RedisBroker broker = RedisBroker.builder().url(good).build();
      Calls<String> recorder = new Calls<>();
      Subscription sub = broker.subscriber(channel("secret.ch")).handle(String.class, recorder);
      broker.subscriber(list("secret-jobs")).handle(String.class, new Calls<>());
      broker.start();
      broker.publish("x", channel("secret.ch"));
      recorder.awaitOne();
      redis.command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
      redis.command("CLIENT", "KILL", "TYPE", "pubsub");
      await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).until(() -> {
        broker.publish("y", channel("secret.ch"));
        return recorder.all().size() > 1;
      });
      seen.add(broker.toString());
      seen.add(broker.url());
      seen.add(sub.toString());
      seen.add(broker.pubSubMetrics().toString());
      seen.add(String.valueOf(broker.subscriptions()));
      broker.close();
      seen.add(broker.toString());
      // Failures: wrong password, no password, nobody listening, malformed URLs, closed broker.
      for (String url : List.of("redis://:wrong" + ENCODED + "@127.0.0.1:" + secured.port(),
          "redis://app:" + ENCODED + "@127.0.0.1:1", "redis://app:" + ENCODED + "@" + base() + "/notadb",
          "redis://app:" + ENCODED + "@[::1", "http://app:" + ENCODED + "@" + base(), "redis://app:" + ENCODED + "@")) {
        try (RedisBroker b = RedisBroker.create(url)) {
          seen.add(b.toString());
          b.start();
          b.publish("z", channel("c"));
        } catch (RuntimeException e) {
          seen.add(allMessages(e));
        }
      }
      assertThatThrownBy(broker::start).satisfies(e -> seen.add(allMessages(e)));
    } finally {
      redis.command("ACL", "DELUSER", "app");
      root.detachAppender(log);
      brook.setLevel(brookLevel);
      lettuce.setLevel(lettuceLevel);
    }
    for (ILoggingEvent e : log.list) {
      seen.add(e.getFormattedMessage());
      if (e.getThrowableProxy() != null) {
        seen.add(ThrowableProxyUtil.asString(e.getThrowableProxy()));
      }
    }
    System.out.printf("SECURITY checked %d texts (%d log events at DEBUG) for the password%n", seen.size(), log.list.size());
    assertThat(log.list).hasSizeGreaterThan(50); // DEBUG was on: there was plenty to leak into
    assertThat(seen.stream().filter(t -> t.contains(SECRET) || t.contains(ENCODED) || t.contains("S3cret")).toList()).isEmpty();
  }

  private static String allMessages(Throwable e) {
    StringBuilder b = new StringBuilder();
    for (Throwable t = e; t != null; t = t.getCause()) {
      b.append(t).append('\n');
      for (Throwable s : t.getSuppressed()) {
        b.append(s).append('\n');
      }
    }
    return b.toString();
  }

  // ---- TLS -------------------------------------------------------------------------------------

  /** A TLS-only redis-server with a CA and certificate made for this test, or a failure naming the fix. */
  private static RedisServer tlsServer(TlsCertificates certs) {
    try {
      return RedisServer.builder().tls(certs).start();
    } catch (IllegalStateException e) {
      return fail("redis-server could not start with TLS: " + e.getMessage() + "\nFix: install a redis-server built "
          + "with TLS support (Debian/Ubuntu's redis-server 7 is: apt-get install redis-server).", e);
    }
  }

  @Test
  void tlsWithAPrivateCa(@TempDir Path dir) {
    TlsCertificates certs = TlsCertificates.generate(dir);
    try (RedisServer tls = tlsServer(certs)) {
      assertThat(tls.url()).isEqualTo("rediss://127.0.0.1:" + tls.port());
      try (RedisBroker broker = RedisBroker.builder().url(tls.url()).caCertificate(certs.caCertificate()).build()) {
        Calls<String> onChannel = new Calls<>();
        Calls<String> onList = new Calls<>();
        Calls<String> onStream = new Calls<>();
        broker.subscriber(channel("tls.ch")).handle(String.class, onChannel);
        broker.subscriber(list("tls-jobs")).handle(String.class, onList);
        broker.subscriber(stream("tls-events").group("g")).handle(String.class, onStream);
        broker.start();
        broker.publish("private", channel("tls.ch"));
        broker.publish("job", list("tls-jobs"));
        broker.publish("event", stream("tls-events"));
        assertThat(onChannel.awaitOne().payload()).isEqualTo("private");
        assertThat(onList.awaitOne().payload()).isEqualTo("job");
        assertThat(onStream.awaitOne().payload()).isEqualTo("event");
      }
      // Not trusting the CA: start fails, naming the fix.
      try (RedisBroker untrusting = RedisBroker.create(tls.url())) {
        assertThatThrownBy(untrusting::start).isInstanceOf(BrookException.class)
            .hasMessageStartingWith("No Redis at " + tls.url() + " (TLS handshake failed: ")
            .hasMessageEndingWith("). Check that the server speaks TLS on that port (rediss://) and that its certificate "
                + "is signed by a CA you trust: RedisBroker.builder().caCertificate(Path) takes the CA's PEM file.");
      }
      // Tests only: verifyPeer=NONE skips the check.
      try (RedisBroker unchecked = RedisBroker.create(tls.url() + "?verifyPeer=NONE")) {
        unchecked.start();
        unchecked.publish("ok", list("tls-unchecked"));
        assertThat(tls.command("LLEN", "tls-unchecked")).isEqualTo(1L);
      }
      // Plain redis:// to a TLS port does not get through either.
      try (RedisBroker plain = RedisBroker.builder().url("redis://127.0.0.1:" + tls.port())
          .connectTimeout(Duration.ofSeconds(1)).commandTimeout(Duration.ofSeconds(1)).build()) {
        assertThatThrownBy(plain::start).isInstanceOf(BrookException.class)
            .hasMessageStartingWith("No Redis at redis://127.0.0.1:" + tls.port() + " (");
      }
    }
  }

  @Test
  void aCaCertificateWithoutTlsFailsAtBuildNamingBothOptions(@TempDir Path dir) throws Exception {
    Path pem = java.nio.file.Files.writeString(dir.resolve("ca.pem"), "not used");
    assertThatThrownBy(() -> RedisBroker.builder().url("redis://app:" + ENCODED + "@" + base()).caCertificate(pem).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("caCertificate is set, but url redis://app:****@" + base() + " does not use TLS. Use a rediss:// URL, "
            + "or leave caCertificate out.");
    assertThatThrownBy(() -> RedisBroker.builder().caCertificate(dir.resolve("missing.pem")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("caCertificate " + dir.resolve("missing.pem") + " does not exist or cannot be read. Pass the PEM file "
            + "of the certificate authority that signed the Redis server's certificate.");
  }

  // ---- sizes -----------------------------------------------------------------------------------

  @Test
  void messagesOverMaxMessageSizeAreRejectedBeforeDecoding() {
    int max = 64 * 1024;
    RedisBroker broker = broker(b -> b.maxMessageSize(max));
    Calls<byte[]> onList = new Calls<>();
    Calls<byte[]> onChannel = new Calls<>();
    Calls<byte[]> onStream = new Calls<>();
    Subscription listSub = broker.subscriber(list("big-jobs").deadLetter()).handle(byte[].class, onList);
    Subscription channelSub = broker.subscriber(channel("big.ch")).handle(byte[].class, onChannel);
    Subscription streamSub = broker.subscriber(stream("big-events").group("g")).handle(byte[].class, onStream);
    broker.start();

    byte[] big = new byte[max + 1];
    java.util.Arrays.fill(big, (byte) 'x');
    assertThatThrownBy(() -> broker.publish(big, list("big-jobs")))
        .isInstanceOf(BrookException.class)
        .hasMessageMatching("Cannot publish to list:big-jobs: the message is 65\\d{3} bytes, over the maxMessageSize of "
            + max + " bytes, so Brook's subscribers would reject it\\. Send large data by reference \\(a key or a URL\\), "
            + "or raise RedisBroker\\.builder\\(\\)\\.maxMessageSize\\(\\.\\.\\.\\) on every broker that reads it\\.");

    // Written by someone else: received, never decoded (a byte[] handler would take anything), dead-lettered raw.
    var redisRaw = raw().sync();
    redisRaw.rpush(utf8("big-jobs"), big);
    redisRaw.publish(utf8("big.ch"), big);
    redisRaw.xadd(utf8("big-events"), Map.of(utf8("__data__"), big));
    byte[] small = utf8("small enough");
    redisRaw.rpush(utf8("big-jobs"), small);
    redisRaw.publish(utf8("big.ch"), small);
    redisRaw.xadd(utf8("big-events"), Map.of(utf8("__data__"), small));

    assertThat(onList.awaitOne().payload()).isEqualTo(small);
    assertThat(onChannel.awaitOne().payload()).isEqualTo(small);
    assertThat(onStream.awaitOne().payload()).isEqualTo(small);
    for (Subscription s : List.of(listSub, channelSub, streamSub)) {
      assertThat(s.metrics().decodeErrors()).as(s.id()).isEqualTo(1);
      assertThat(s.metrics().handled()).as(s.id()).isEqualTo(1);
    }
    await().atMost(Duration.ofSeconds(5)).until(() -> (Long) redis.command("LLEN", "{big-jobs}:dlq") == 1
        && (Long) redis.command("XLEN", "{big-events}:dlq") == 1);
    var dead = Envelope.decode(redisRaw.lindex(utf8("{big-jobs}:dlq"), 0));
    assertThat(dead.payload()).isEqualTo(big);
    assertThat(dead.header("x-error")).isEqualTo("it is " + (max + 1) + " bytes, over the maxMessageSize of " + max
        + " bytes, so it was not decoded (RedisBroker.builder().maxMessageSize(...) raises the limit)");
  }

  // ---- message-controlled text ----------------------------------------------------------------

  @Test
  void headersAndReplyToFromMessagesAreDataNeverCommands() throws Exception {
    redis.command("SET", "canary", "alive");
    RedisBroker broker = broker();
    broker.subscriber(list("echo")).handle(String.class, (s, ctx) -> "reply to " + s);
    broker.start();
    String injected = "x\r\n*1\r\n$8\r\nFLUSHALL\r\n";
    var raw = raw();
    var replies = new java.util.concurrent.LinkedBlockingQueue<String>();
    RedisServerSubscriber sub = new RedisServerSubscriber(injected, replies);
    closeLater(sub);
    broker.publish("hello", list("echo"), Map.of("reply_to", injected, "evil\r\nDEL canary", "*2\r\n$3\r\nDEL\r\n$6\r\ncanary"));
    assertThat(replies.poll(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("reply to hello");
    assertThat(redis.command("GET", "canary")).isEqualTo("alive");
    assertThat(raw.sync().dbsize()).isGreaterThanOrEqualTo(1L);
  }

  @Test
  void recoveryOfAListWithGlobCharactersInItsNameTouchesOnlyItsOwnProcessingLists() {
    // Another list's processing list of a dead consumer, whose key a careless SCAN for "{jobs*}:processing:*" would match.
    redis.command("RPUSH", "{jobsX}:processing:ghost", "not yours");
    redis.command("RPUSH", "{jobs*}:processing:ghost", "yours");
    RedisBroker broker = broker();
    Calls<String> recorder = new Calls<>();
    broker.subscriber(list("jobs*")).handle(String.class, recorder);
    broker.start();
    assertThat(recorder.awaitOne().payload()).isEqualTo("yours");
    assertThat(redis.command("LRANGE", "{jobsX}:processing:ghost", "0", "-1")).isEqualTo(List.of("not yours"));
    assertThat(redis.command("LLEN", "jobsX")).isEqualTo(0L);
  }

  /** A raw Lettuce Pub/Sub subscriber to one channel, for replies whose channel name a message chose. */
  private final class RedisServerSubscriber implements AutoCloseable {
    private final io.lettuce.core.RedisClient client;
    private final io.lettuce.core.pubsub.StatefulRedisPubSubConnection<byte[], byte[]> connection;

    RedisServerSubscriber(String channel, java.util.concurrent.BlockingQueue<String> into) {
      client = io.lettuce.core.RedisClient.create(redis.url());
      connection = client.connectPubSub(io.lettuce.core.codec.ByteArrayCodec.INSTANCE);
      connection.addListener(new io.lettuce.core.pubsub.RedisPubSubAdapter<>() {
        @Override
        public void message(byte[] ch, byte[] message) {
          into.add(new String(Envelope.decode(message).payload(), StandardCharsets.UTF_8));
        }
      });
      connection.sync().subscribe(utf8(channel));
    }

    @Override
    public void close() {
      connection.close();
      client.shutdown();
    }
  }
}
