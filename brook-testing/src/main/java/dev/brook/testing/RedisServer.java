package dev.brook.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Objects;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private {@code redis-server} process for tests, listening on {@code 127.0.0.1} only.
 *
 * <p><b>What it owns.</b> Each instance owns exactly one child process (across {@link #restart() restarts},
 * one at a time), the TCP port it was started on, a Lettuce client with its own threads (daemon, named
 * {@code redis-server-PORT-...}) for {@link #command(String...)}, and - unless a directory was given with
 * {@link Builder#directory(Path)} - a fresh temporary working directory holding {@code redis.log},
 * {@code redis.out} (the process's stdout/stderr) and any AOF files. {@link #close()} releases all of them.
 *
 * <p><b>What it guarantees.</b>
 * <ul>
 *   <li>It never talks to a Redis it did not start: an explicitly requested port must be free before
 *       the process is launched, and readiness requires that the server answering {@code PING} reports
 *       the process id of our child ({@code INFO server}). The default port is a free loopback port,
 *       so the machine's shared Redis on 6379 is never touched.</li>
 *   <li>{@link #start()} / {@link Builder#start()} return only once the server answers {@code +PONG}
 *       (and has finished loading its data set), or throw an {@link IllegalStateException} carrying the
 *       command line and the last 20 lines of {@code redis.log} (plus the process output).</li>
 *   <li>{@link #close()} kills the process, waits for it to exit, closes the client (its threads have ended when
 *       it returns) and deletes the temporary directory; it is idempotent. Until then a JVM shutdown hook (one
 *       per server, removed by {@code close()}) kills the process, so an aborted test run leaves no
 *       {@code redis-server} behind.</li>
 *   <li>All methods are thread-safe. Lifecycle methods ({@link #kill()}, {@link #stop()},
 *       {@link #restart()}, {@link #close()}) are serialized; {@link #command(String...)} may run
 *       concurrently. Between commands the server has exactly one client of its own, named
 *       {@value #CLIENT_NAME}: leave it out when counting a test's connections.</li>
 * </ul>
 *
 * <p><b>Which binary.</b> Unless {@link Builder#binary(Path)} or {@link Builder#embedded()} says otherwise:
 * {@code redis-server} from the {@code PATH} entries, then {@code /usr/bin/redis-server} and
 * {@code /usr/local/bin/redis-server} ({@link #source()} = {@value #SOURCE_PATH}); else the statically linked
 * Redis 7.0.9 shipped in the {@code com.github.lansheng228:embedded-redis} jar (linux and macOS, amd64 and arm64,
 * built with TLS), extracted once per JVM with its {@code redis-cli} into a temporary directory that is deleted on
 * JVM exit ({@link #source()} = {@value #SOURCE_EMBEDDED}). The system property {@code brook.redis.binary} (else
 * the environment variable {@code BROOK_REDIS_BINARY}) changes this default: {@code embedded} always uses the
 * embedded binary (what a machine with only a JDK runs), {@code path} never does, {@code auto} is the default.
 *
 * <pre>{@code
 * try (RedisServer redis = RedisServer.start()) {
 *     redis.command("SET", "k", "v");
 *     assertThat(redis.command("GET", "k")).isEqualTo("v");
 *     connectTo(redis.url());          // redis://127.0.0.1:41234
 * }
 * }</pre>
 */
public final class RedisServer implements AutoCloseable {

    /** The only address the server binds to and the library connects to. */
    public static final String HOST = "127.0.0.1";
    /** {@link #source()} of a binary found on {@code PATH} (or in /usr/bin, /usr/local/bin). */
    public static final String SOURCE_PATH = "PATH";
    /** {@link #source()} of the Redis 7.0.9 binary extracted from the {@code embedded-redis} jar. */
    public static final String SOURCE_EMBEDDED = "embedded";
    /** {@link #source()} of a binary given with {@link Builder#binary(Path)}. */
    public static final String SOURCE_EXPLICIT = "explicit";
    /** The client name ({@code CLIENT LIST}) of the connections {@link #command(String...)} uses. */
    public static final String CLIENT_NAME = "redisserver-command";

    private static final Logger LOG = LoggerFactory.getLogger(RedisServer.class);
    private static final String LOG_FILE = "redis.log";
    private static final String OUT_FILE = "redis.out";

    private final Path binary;
    private final String source;
    private final int port;
    private final Path directory;
    private final Path logFile;
    private final List<String> commandLine;
    private final String password; // effective --requirepass, null if none
    private final boolean tls;
    private final RedisProcess process;
    private final CommandConnections connections;

    private final Object lock = new Object();
    private volatile boolean closed;  // written under lock

    private RedisServer(Builder builder, Path binary, String source, int port) {
        this.binary = binary;
        this.source = source;
        this.port = port;
        boolean ownsDirectory;
        try {
            if (builder.directory != null) {
                this.directory = Files.createDirectories(builder.directory).toAbsolutePath();
                ownsDirectory = false;
            } else {
                this.directory = Files.createTempDirectory("brook-redis-").toAbsolutePath();
                ownsDirectory = true;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the working directory for redis-server", e);
        }
        this.logFile = directory.resolve(LOG_FILE);

        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toString());
        if (builder.sentinelConfig != null) {
            // A sentinel rewrites its configuration file (what it learnt of the primary, replicas and peers), so
            // the file lives in the server's own directory; the options after it override what it says.
            Path config = directory.resolve("sentinel.conf");
            try {
                Files.writeString(config, builder.sentinelConfig);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot write " + config, e);
            }
            cmd.addAll(List.of(config.toString(), "--sentinel"));
        }
        cmd.addAll(List.of("--port", Integer.toString(port), "--bind", HOST));
        if (builder.sentinelConfig != null) {
            // no data set: save and appendonly are not a sentinel's options
        } else if (builder.appendOnly) {
            cmd.addAll(List.of("--save", ""));
            cmd.addAll(List.of("--appendonly", "yes", "--appendfsync", "always"));
        } else {
            cmd.addAll(List.of("--save", "", "--appendonly", "no"));
        }
        cmd.addAll(List.of("--dir", directory.toString(), "--daemonize", "no", "--protected-mode", "no",
                "--logfile", logFile.toString()));
        if (builder.password != null) {
            cmd.addAll(List.of("--requirepass", builder.password));
        }
        TlsCertificates certificates = builder.tls;
        this.tls = certificates != null;
        if (certificates != null) {
            // TLS only: the plain port is closed, the same port number speaks TLS.
            cmd.addAll(List.of("--port", "0", "--tls-port", Integer.toString(port),
                    "--tls-cert-file", certificates.certificate().toString(),
                    "--tls-key-file", certificates.privateKey().toString(),
                    "--tls-ca-cert-file", certificates.caCertificate().toString(), "--tls-auth-clients", "no"));
        }
        cmd.addAll(builder.args);
        this.commandLine = List.copyOf(cmd);
        this.password = effectivePassword(commandLine);
        this.process = new RedisProcess(commandLine, directory, ownsDirectory, logFile, directory.resolve(OUT_FILE), port);
        this.connections = new CommandConnections(port, password, certificates);
    }

    // ------------------------------------------------------------------------------------------------ factory

    /** Starts a server with all defaults: free loopback port, binary from PATH else embedded, temp dir. */
    public static RedisServer start() {
        return builder().start();
    }

    /** Options for a server; finish with {@link Builder#start()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Options for a {@link RedisServer}. Not thread-safe; use one builder per server. */
    public static final class Builder {
        private int port; // 0 = choose a free one
        private Path binary;
        private boolean embedded;
        private final List<String> args = new ArrayList<>();
        private boolean appendOnly;
        private Path directory;
        private String password;
        private TlsCertificates tls;
        private String sentinelConfig;

        private Builder() {
        }

        /** Runs a sentinel ({@code redis-server sentinel.conf --sentinel}) with this configuration; for {@link RedisSentinel}. */
        Builder sentinel(String configuration) {
            this.sentinelConfig = Objects.requireNonNull(configuration, "configuration");
            return this;
        }

        /**
         * Speak TLS only ({@code --port 0 --tls-port PORT}, clients not asked for certificates), with this
         * server certificate; {@link RedisServer#url()} becomes {@code rediss://127.0.0.1:PORT} and
         * {@link RedisServer#command(String...)} connects over TLS trusting the certificates' CA. The
         * redis-server binary must be built with TLS (Debian's and the embedded one are).
         */
        public Builder tls(TlsCertificates certificates) {
            this.tls = Objects.requireNonNull(certificates, "certificates");
            return this;
        }

        /** The port to listen on; it must be free. Default (or {@code 0}): a free loopback port. */
        public Builder port(int port) {
            if (port < 0 || port > 65_535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            this.port = port;
            return this;
        }

        /** Use this {@code redis-server} executable. Overrides an earlier {@link #embedded()}. */
        public Builder binary(Path binary) {
            this.binary = Objects.requireNonNull(binary, "binary").toAbsolutePath();
            this.embedded = false;
            return this;
        }

        /**
         * Use the Redis 7.0.9 binary shipped in the embedded-redis jar even if one is on PATH (and whatever
         * {@code brook.redis.binary} says). Overrides {@link #binary(Path)}.
         */
        public Builder embedded() {
            this.embedded = true;
            this.binary = null;
            return this;
        }

        /**
         * Extra command-line tokens appended after the standard ones, e.g. {@code arg("--maxmemory", "10mb")}.
         * Later options override earlier ones, so these win over the defaults. A {@code --requirepass}
         * given here is also used by {@link RedisServer#command(String...)} and {@link RedisServer#url()}.
         */
        public Builder arg(String... tokens) {
            for (String token : Objects.requireNonNull(tokens, "tokens")) {
                args.add(Objects.requireNonNull(token, "token"));
            }
            return this;
        }

        /** Same as {@link #arg(String...)} for a collection of tokens. */
        public Builder args(Collection<String> tokens) {
            return arg(tokens.toArray(String[]::new));
        }

        /** {@code --appendonly yes --appendfsync always} when true (data survives {@link RedisServer#kill()}). */
        public Builder appendOnly(boolean appendOnly) {
            this.appendOnly = appendOnly;
            return this;
        }

        /**
         * Working directory ({@code --dir}); created if missing and NOT deleted on close.
         * Default: a fresh temporary directory that {@link RedisServer#close()} deletes.
         */
        public Builder directory(Path directory) {
            this.directory = Objects.requireNonNull(directory, "directory");
            return this;
        }

        /** Sets {@code --requirepass}; {@link RedisServer#url()} then carries it and commands authenticate. */
        public Builder password(String password) {
            Objects.requireNonNull(password, "password");
            if (password.isEmpty()) {
                throw new IllegalArgumentException("password must not be empty");
            }
            this.password = password;
            return this;
        }

        /** True unless {@link #binary(Path)} or {@link #embedded()} was called. */
        boolean usesDefaultBinary() {
            return binary == null && !embedded;
        }

        /**
         * Launches the server and waits until it answers {@code PING}.
         *
         * @throws IllegalStateException if no binary is available, {@code brook.redis.binary} has an unknown value,
         *                               the requested port is taken, or the
         *                               server does not come up within 10 s (message has the log tail)
         */
        public RedisServer start() {
            Path bin;
            String src;
            if (binary != null) {
                bin = binary;
                src = SOURCE_EXPLICIT;
            } else if (embedded) {
                bin = RedisBinaries.embeddedBinary();
                src = SOURCE_EMBEDDED;
            } else {
                RedisBinaries.DefaultBinary chosen = RedisBinaries.defaultBinary();
                bin = chosen.path();
                src = chosen.source();
            }
            if (!Files.isRegularFile(bin) || !Files.isExecutable(bin)) {
                throw new IllegalStateException("redis-server binary " + bin + " (" + src
                        + ") does not exist or is not executable. " + RedisBinaries.INSTALL_HINT);
            }

            boolean autoPort = port == 0;
            int maxAttempts = autoPort ? 3 : 1;
            for (int attempt = 1; ; attempt++) {
                int p = autoPort ? RedisProcess.freePort() : port;
                if (!autoPort && !RedisProcess.isPortFree(p)) {
                    throw new IllegalStateException("Port " + p + " on " + HOST + " is already in use; RedisServer "
                            + "never uses a Redis it did not start. Choose another port, or omit port(...) to get "
                            + "a free one.");
                }
                RedisServer server = new RedisServer(this, bin, src, p);
                try {
                    synchronized (server.lock) {
                        server.launch();
                    }
                    return server;
                } catch (RuntimeException e) {
                    server.close();
                    boolean portRace = e instanceof RedisProcess.StartFailure f && f.portInUse;
                    if (autoPort && portRace && attempt < maxAttempts) {
                        LOG.debug("Port {} was taken before redis-server could bind it; retrying", p);
                        continue;
                    }
                    throw e;
                }
            }
        }
    }


    // ------------------------------------------------------------------------------------------------ accessors

    /** The executable that was started. */
    public Path binary() {
        return binary;
    }

    /** Where {@link #binary()} came from: {@value #SOURCE_PATH}, {@value #SOURCE_EMBEDDED} or {@value #SOURCE_EXPLICIT}. */
    public String source() {
        return source;
    }

    /** Always {@value #HOST}. */
    public String host() {
        return HOST;
    }

    /** The TCP port; stays the same across {@link #restart()}. */
    public int port() {
        return port;
    }

    /**
     * {@code redis://127.0.0.1:PORT}, or {@code redis://:PASSWORD@127.0.0.1:PORT} when a password is set;
     * {@code rediss://} with {@link Builder#tls(TlsCertificates)}.
     */
    public String url() {
        String scheme = tls ? "rediss://" : "redis://";
        if (password == null) {
            return scheme + HOST + ":" + port;
        }
        String encoded = URLEncoder.encode(password, StandardCharsets.UTF_8).replace("+", "%20");
        return scheme + ":" + encoded + "@" + HOST + ":" + port;
    }

    /** Process id of the current (or, if not running, the most recent) redis-server process. */
    public long pid() {
        return process.pid();
    }

    /** The working directory ({@code --dir}). */
    public Path directory() {
        return directory;
    }

    /** The server's log file ({@code --logfile}). */
    public Path logFile() {
        return logFile;
    }

    /** The full command line used to launch the process (including any password). */
    public List<String> commandLine() {
        return commandLine;
    }

    /** True while the process is alive. */
    public boolean isRunning() {
        return process.isRunning();
    }

    @Override
    public String toString() {
        return "RedisServer[" + HOST + ":" + port + ", " + (isRunning() ? "pid " + pid() : closed ? "closed" : "stopped")
                + ", " + source + " " + binary + "]";
    }


    // ------------------------------------------------------------------------------------------------ commands

    /**
     * Sends one command and returns the reply: {@code String} for simple and bulk strings, {@code Long} for
     * integers, {@code List<Object>} for arrays, {@code null} for nil. The connection speaks RESP2 and is
     * authenticated when a password is set; a command that changes its connection ({@code HELLO 3},
     * {@code SELECT}, {@code MULTI}...) runs on a connection of its own that is closed afterwards, so the next
     * command sees the defaults again. RESP3 replies (after {@code HELLO 3}) are understood too: maps become
     * {@code Map}, sets {@code List}. Blocking commands ({@code BLPOP}) do not hold up other threads' commands.
     *
     * @throws IllegalStateException if Redis replies with an error (the message starts with the Redis error
     *                               text) or this server is closed
     * @throws UncheckedIOException  if the server cannot be reached (e.g. after {@link #kill()}) or does not
     *                               reply within 30 s
     */
    public Object command(String... args) {
        Objects.requireNonNull(args, "args");
        if (args.length == 0) {
            throw new IllegalArgumentException("command needs at least a name");
        }
        for (String arg : args) {
            Objects.requireNonNull(arg, "command arguments must not be null");
        }
        ensureOpen();
        return connections.command(args);
    }

    /** A Pub/Sub connection of the kind {@link #command} uses (see {@link CommandConnections#pubSub()}); the caller closes it. */
    io.lettuce.core.pubsub.StatefulRedisPubSubConnection<String, String> pubSubConnection() {
        ensureOpen();
        return connections.pubSub();
    }

    // ------------------------------------------------------------------------------------------------ lifecycle

    /** SIGKILL the process and wait until it has exited; no-op if it is not running. */
    public void kill() {
        synchronized (lock) {
            process.kill();
            connections.disconnect();
        }
    }

    /** SIGTERM the process and wait until it has exited (SIGKILL after 10 s); no-op if it is not running. */
    public void stop() {
        synchronized (lock) {
            process.stop();
            connections.disconnect();
        }
    }

    /**
     * Starts the server again on the same port and directory (stopping it first if it is running), waiting up
     * to 10 s for the port to become free and then for {@code PONG}. With {@link Builder#appendOnly(boolean)}
     * the data written before a {@link #kill()} is still there.
     *
     * @throws IllegalStateException if closed, the port stays taken, or the server does not come up
     */
    public void restart() {
        synchronized (lock) {
            ensureOpen();
            stop();
            process.awaitPortFree();
            launch();
        }
    }

    /**
     * Kills the process if running, closes the client (its threads have ended when this returns), deletes the
     * temporary directory and removes the shutdown hook. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            try {
                process.close();
            } finally {
                connections.close();
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
    }

    /** Caller holds lock. */
    private void launch() {
        ensureOpen();
        process.launch(connections::probe);
        LOG.debug("Started redis-server pid {} on {}:{} ({} {})", process.pid(), HOST, port, source, binary);
    }

    /** The effective password: the value of the last {@code --requirepass} on the command line, if non-empty. */
    private static String effectivePassword(List<String> cmd) {
        String pw = null;
        for (int i = 1; i < cmd.size() - 1; i++) {
            if (cmd.get(i).equalsIgnoreCase("--requirepass")) {
                pw = cmd.get(i + 1);
            }
        }
        return pw == null || pw.isEmpty() ? null : pw;
    }
}
