package dev.brook.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.SslOptions;
import io.lettuce.core.SslVerifyMode;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.event.DefaultEventPublisherOptions;
import io.lettuce.core.metrics.CommandLatencyRecorder;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.ProtocolKeyword;
import io.lettuce.core.protocol.ProtocolVersion;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import io.netty.util.concurrent.DefaultThreadFactory;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of one {@link RedisServer}: a Lettuce {@link RedisClient} on its own {@link ClientResources}
 * (one I/O thread, daemon, named {@code redis-server-PORT-...} so they are never taken for Brook's {@code brook-}
 * threads), and the connection {@link RedisServer#command(String...)} runs on.
 *
 * <p><b>Connections.</b> One connection is kept between commands; a command that finds it taken (another thread
 * runs one) opens another, which is closed afterwards unless the kept one is gone. So at rest the server has exactly
 * one client named {@value RedisServer#CLIENT_NAME}, and a blocking command ({@code BLPOP}) never holds up another
 * thread's command. A command that changes its connection's state ({@code HELLO}, {@code SELECT}, {@code MULTI},
 * {@code CLIENT SETNAME}, {@code SUBSCRIBE}...) gets a connection that is closed after it, so each call still sees
 * a fresh connection's defaults (RESP2, database 0). Connections speak RESP2, do not reconnect (a command on a dead
 * kept connection is sent once more on a new one) and authenticate with the server's password.
 *
 * <p><b>Threads.</b> Calls may come from any thread and are not interruptible (an interrupt stays set and the
 * command finishes, as it did on a blocking socket). {@link #close()} closes the connections and shuts the
 * resources down, waiting for their threads to end.
 */
final class CommandConnections implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(RedisServer.class);
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(1);
    private static final Set<String> STATEFUL = Set.of("HELLO", "SELECT", "AUTH", "MULTI", "EXEC", "DISCARD", "WATCH",
            "UNWATCH", "RESET", "READONLY", "READWRITE", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE",
            "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR", "QUIT", "SYNC", "PSYNC", "REPLCONF", "ASKING");
    private static final Set<String> STATEFUL_CLIENT = Set.of("SETNAME", "REPLY", "TRACKING", "CACHING", "NO-EVICT",
            "NO-TOUCH", "SETINFO");

    private final int port;
    private final String password;
    private final ClientResources resources;
    /** The client's threads, joined by {@link #close()}: a terminated executor's thread may still be running its last lines. */
    private final java.util.Queue<Thread> started = new java.util.concurrent.ConcurrentLinkedQueue<>();
    private final RedisClient client;
    private final RedisURI uri;
    private final RedisURI probeUri;
    /** The connection kept between commands, or null. */
    private final AtomicReference<StatefulRedisConnection<String, String>> kept = new AtomicReference<>();
    private volatile boolean closed;

    CommandConnections(int port, String password, TlsCertificates tls) {
        this.port = port;
        this.password = password;
        String threads = "redis-server-" + port + "-";
        this.resources = DefaultClientResources.builder()
                .ioThreadPoolSize(1)
                .computationThreadPoolSize(1)
                .commandLatencyRecorder(CommandLatencyRecorder.disabled())
                .commandLatencyPublisherOptions(DefaultEventPublisherOptions.disabled())
                .threadFactoryProvider(pool -> new TrackedThreads(threads + pool.replace("lettuce-", ""), started))
                .build();
        ClientOptions.Builder options = ClientOptions.builder()
                .protocolVersion(ProtocolVersion.RESP2)
                .autoReconnect(false)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).build());
        RedisURI.Builder address = RedisURI.builder().withHost(RedisServer.HOST).withPort(port)
                .withClientName(RedisServer.CLIENT_NAME);
        if (password != null) {
            address.withPassword(password.toCharArray());
        }
        if (tls != null) {
            // The CA is trusted; the host name is not checked, as the certificates name 127.0.0.1 anyway.
            options.sslOptions(SslOptions.builder().jdkSslProvider().trustManager(tls.caCertificate().toFile()).build());
            address.withSsl(true).withVerifyPeer(SslVerifyMode.CA);
        }
        this.uri = address.withTimeout(COMMAND_TIMEOUT).build();
        this.probeUri = RedisURI.builder(uri).withTimeout(PROBE_TIMEOUT).build();
        this.client = RedisClient.create(resources);
        client.setOptions(options.build());
    }

    /**
     * A Pub/Sub connection to the server with the same name, password and TLS as the command connections, for a
     * caller that listens for a moment ({@link RedisCluster#awaitPubSubDelivered()}); the caller closes it.
     */
    io.lettuce.core.pubsub.StatefulRedisPubSubConnection<String, String> pubSub() {
        return client.connectPubSub(StringCodec.UTF8, uri);
    }

    // ------------------------------------------------------------------------------------------------ commands

    /** See {@link RedisServer#command(String...)}. */
    Object command(String... args) {
        boolean stateful = changesConnection(args);
        StatefulRedisConnection<String, String> c = stateful ? null : kept.getAndSet(null);
        if (c != null && c.isOpen()) {
            try {
                Object reply = dispatch(c, args, COMMAND_TIMEOUT);
                release(c);
                return reply;
            } catch (RedisCommandExecutionException e) {
                release(c);
                throw errorReply(e, args[0]);
            } catch (IOException e) {
                c.close();
                if (e instanceof CommandTimeout) {
                    throw failure(args[0], e);
                }
                // The kept connection died while idle (a restart, CLIENT KILL): send it on a new one.
                LOG.debug("The kept connection to {}:{} is gone ({}); sending {} on a new one", RedisServer.HOST, port,
                        e.toString(), args[0]);
            }
        } else if (c != null) {
            c.close();
        }
        c = connect(uri, args[0]);
        try {
            Object reply = dispatch(c, args, COMMAND_TIMEOUT);
            if (stateful) {
                c.close();
            } else {
                release(c);
            }
            return reply;
        } catch (RedisCommandExecutionException e) {
            if (stateful) {
                c.close();
            } else {
                release(c);
            }
            throw errorReply(e, args[0]);
        } catch (IOException e) {
            c.close();
            throw failure(args[0], e);
        }
    }

    /**
     * For {@link RedisProcess#launch}: true once the server on the port answers {@code PONG}, is process
     * {@code expectedPid} and has loaded its data set; the connection it used is kept for the first command.
     *
     * @throws RedisProcess.ForeignServer if another redis-server answers
     */
    boolean probe(long expectedPid) throws Exception {
        StatefulRedisConnection<String, String> c = connect(probeUri, "PING");
        boolean keep = false;
        try {
            if (!"PONG".equals(dispatch(c, new String[] {"PING"}, PROBE_TIMEOUT))) {
                return false;
            }
            String pid = infoField(c, "server", "process_id");
            if (pid != null && !pid.equals(Long.toString(expectedPid))) {
                throw new RedisProcess.ForeignServer("Port " + port + " is answered by another redis-server (pid "
                        + pid + "), not the one started here (pid " + expectedPid + ")");
            }
            if ("1".equals(infoField(c, "persistence", "loading"))) {
                return false;
            }
            c.setTimeout(COMMAND_TIMEOUT);
            keep = true;
            release(c);
            return true;
        } finally {
            if (!keep) {
                c.close();
            }
        }
    }

    /** One field of an INFO section, or null if INFO is unavailable (e.g. renamed away by extra args). */
    private static String infoField(StatefulRedisConnection<String, String> c, String section, String field)
            throws IOException {
        Object reply;
        try {
            reply = dispatch(c, new String[] {"INFO", section}, PROBE_TIMEOUT);
        } catch (RedisCommandExecutionException e) {
            return null;
        }
        Map<String, String> fields = new LinkedHashMap<>();
        if (reply instanceof String text) {
            for (String line : text.split("\r?\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && !line.startsWith("#")) {
                    fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
                }
            }
        }
        return fields.get(field);
    }

    /** Closes the kept connection (the server went down; it is dead anyway). Commands connect again. */
    void disconnect() {
        StatefulRedisConnection<String, String> c = kept.getAndSet(null);
        if (c != null) {
            c.close();
        }
    }

    /** Closes every connection and shuts the client and its resources down; waits up to 2 s for their threads. */
    @Override
    public void close() {
        closed = true;
        disconnect();
        try {
            client.shutdown(0, 2, TimeUnit.SECONDS);
        } finally {
            awaitShutdown(resources.shutdown(0, 2, TimeUnit.SECONDS));
            joinThreads();
        }
    }

    private void joinThreads() {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (Thread t; (t = started.poll()) != null; ) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                t.join(Duration.ofNanos(left));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** Netty's daemon thread factory, remembering what it started. */
    private static final class TrackedThreads extends DefaultThreadFactory {
        private final java.util.Queue<Thread> started;

        TrackedThreads(String prefix, java.util.Queue<Thread> started) {
            super(prefix, true);
            this.started = started;
        }

        @Override
        protected Thread newThread(Runnable r, String name) {
            Thread t = super.newThread(r, name);
            started.add(t);
            return t;
        }
    }

    // ------------------------------------------------------------------------------------------------ internals

    /** Keeps {@code c} for the next command unless one is kept already or it is closed. */
    private void release(StatefulRedisConnection<String, String> c) {
        if (!closed && c.isOpen() && kept.compareAndSet(null, c)) {
            if (closed && kept.compareAndSet(c, null)) {
                c.close(); // close() ran meanwhile and may have missed it
            }
            return;
        }
        c.close();
    }

    private static boolean changesConnection(String[] args) {
        String name = args[0].toUpperCase(Locale.ROOT);
        if (name.equals("CLIENT")) {
            return args.length > 1 && STATEFUL_CLIENT.contains(args[1].toUpperCase(Locale.ROOT));
        }
        return STATEFUL.contains(name);
    }

    private StatefulRedisConnection<String, String> connect(RedisURI target, String command) {
        CompletableFuture<StatefulRedisConnection<String, String>> future =
                client.connectAsync(StringCodec.UTF8, target).toCompletableFuture();
        try {
            return awaitUninterruptibly(future, CONNECT_TIMEOUT.plus(target.getTimeout()));
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            RedisCommandExecutionException refused = find(cause, RedisCommandExecutionException.class);
            if (refused != null) {
                throw new IllegalStateException(refused.getMessage() + " (reply to "
                        + (password != null ? "AUTH" : "CLIENT SETNAME") + ")", refused);
            }
            throw failure(command, new IOException(String.valueOf(cause), cause));
        } catch (TimeoutException e) {
            future.thenAccept(StatefulRedisConnection::close);
            throw failure(command, new IOException("no connection within " + CONNECT_TIMEOUT.plus(target.getTimeout())));
        }
    }

    /**
     * Sends one command and waits for its reply.
     *
     * @throws RedisCommandExecutionException for an error reply (the connection is fine)
     * @throws IOException if the connection failed ({@link CommandTimeout} if no reply came in time)
     */
    private static Object dispatch(StatefulRedisConnection<String, String> c, String[] args, Duration timeout)
            throws IOException {
        CommandArgs<String, String> commandArgs = new CommandArgs<>(StringCodec.UTF8);
        for (int i = 1; i < args.length; i++) {
            commandArgs.add(args[i]);
        }
        Future<Object> reply;
        try {
            reply = c.async().dispatch(new Keyword(args[0]), new ReplyOutput(), commandArgs);
        } catch (RuntimeException rejected) { // not connected
            throw new IOException(rejected.toString(), rejected);
        }
        try {
            return awaitUninterruptibly(reply, timeout);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RedisCommandExecutionException error) {
                throw error;
            }
            throw new IOException(String.valueOf(cause), cause);
        } catch (TimeoutException e) {
            reply.cancel(false);
            throw new CommandTimeout("no reply to " + args[0] + " within " + timeout.toMillis() + " ms");
        }
    }

    private IllegalStateException errorReply(RedisCommandExecutionException e, String command) {
        return new IllegalStateException(e.getMessage() + " (reply to " + command + ")", e);
    }

    private UncheckedIOException failure(String command, IOException e) {
        return new UncheckedIOException("Redis command " + command + " to " + RedisServer.HOST + ":" + port
                + " failed: " + e.getMessage(), e);
    }

    private static <T extends Throwable> T find(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        return null;
    }

    /** Waits like {@link Future#get(long, TimeUnit)} but finishes waiting when interrupted (and stays interrupted). */
    private static <T> T awaitUninterruptibly(Future<T> future, Duration timeout)
            throws ExecutionException, TimeoutException {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return future.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                } catch (CompletionException e) {
                    throw new ExecutionException(e.getCause());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void awaitShutdown(Future<?> shutdown) {
        try {
            awaitUninterruptibly(shutdown, Duration.ofSeconds(5));
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("The Lettuce client resources of the redis-server on {}:{} did not shut down within 5 s: {}",
                    RedisServer.HOST, port, e.toString());
        }
    }

    /** No reply within the command timeout. */
    private static final class CommandTimeout extends IOException {
        private static final long serialVersionUID = 1L;

        CommandTimeout(String message) {
            super(message);
        }
    }

    /** Any command name, sent as given. */
    private record Keyword(String name) implements ProtocolKeyword {
        @Override
        public byte[] getBytes() {
            return name.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return name.toUpperCase(Locale.ROOT);
        }
    }
}
