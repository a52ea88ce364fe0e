package dev.brook.testing;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private {@code redis-server} process for tests, listening on {@code 127.0.0.1} only.
 *
 * <p><b>What it owns.</b> Each instance owns exactly one child process (across {@link #restart() restarts},
 * one at a time), the TCP port it was started on, and - unless a directory was given with
 * {@link Builder#directory(Path)} - a fresh temporary working directory holding {@code redis.log},
 * {@code redis.out} (the process's stdout/stderr) and any AOF files.
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
 *   <li>{@link #close()} kills the process, waits for it to exit and deletes the temporary directory;
 *       it is idempotent. Until then a JVM shutdown hook (one per server, removed by {@code close()})
 *       kills the process, so an aborted test run leaves no {@code redis-server} behind.</li>
 *   <li>All methods are thread-safe. Lifecycle methods ({@link #kill()}, {@link #stop()},
 *       {@link #restart()}, {@link #close()}) are serialized; {@link #command(String...)} uses a fresh
 *       connection per call and may run concurrently.</li>
 * </ul>
 *
 * <p><b>Which binary.</b> Unless {@link Builder#binary(Path)} or {@link Builder#embedded()} says otherwise:
 * {@code redis-server} from the {@code PATH} entries, then {@code /usr/bin/redis-server} and
 * {@code /usr/local/bin/redis-server} ({@link #source()} = {@value #SOURCE_PATH}); else the linux-amd64
 * binary shipped in the {@code embedded-redis} jar, extracted once per JVM to a temporary executable file
 * that is deleted on JVM exit ({@link #source()} = {@value #SOURCE_EMBEDDED}).
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
    /** {@link #source()} of the binary extracted from the {@code embedded-redis} jar. */
    public static final String SOURCE_EMBEDDED = "embedded";
    /** {@link #source()} of a binary given with {@link Builder#binary(Path)}. */
    public static final String SOURCE_EXPLICIT = "explicit";

    static final String EMBEDDED_RESOURCE = "/redis-server-6.2.6-v5-linux-amd64";
    static final List<Path> FALLBACK_LOCATIONS =
            List.of(Path.of("/usr/bin/redis-server"), Path.of("/usr/local/bin/redis-server"));
    static final String INSTALL_HINT = "Fix: install Redis so that redis-server is on PATH "
            + "(Debian/Ubuntu: apt-get install redis-server), or keep com.github.codemonstur:embedded-redis "
            + "on the classpath (its binary runs on linux-amd64 only).";

    private static final Logger LOG = LoggerFactory.getLogger(RedisServer.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration PORT_FREE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final int CONNECT_TIMEOUT_MS = 2_000;
    private static final int COMMAND_TIMEOUT_MS = 30_000;
    private static final int LOG_TAIL_LINES = 20;
    private static final String LOG_FILE = "redis.log";
    private static final String OUT_FILE = "redis.out";

    private static final Object EMBEDDED_LOCK = new Object();
    private static Path embeddedBinary; // guarded by EMBEDDED_LOCK

    private final Path binary;
    private final String source;
    private final int port;
    private final Path directory;
    private final boolean ownsDirectory;
    private final Path logFile;
    private final Path outFile;
    private final List<String> commandLine;
    private final String password; // effective --requirepass, null if none
    private final TlsCertificates tls; // null for plain TCP
    private final javax.net.ssl.SSLSocketFactory tlsSockets; // trusts tls.caCertificate(); null for plain TCP
    private final Thread shutdownHook;

    private final Object lock = new Object();
    private volatile Process process; // written under lock
    private volatile boolean closed;  // written under lock

    private RedisServer(Builder builder, Path binary, String source, int port) {
        this.binary = binary;
        this.source = source;
        this.port = port;
        try {
            if (builder.directory != null) {
                this.directory = Files.createDirectories(builder.directory).toAbsolutePath();
                this.ownsDirectory = false;
            } else {
                this.directory = Files.createTempDirectory("brook-redis-").toAbsolutePath();
                this.ownsDirectory = true;
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the working directory for redis-server", e);
        }
        this.logFile = directory.resolve(LOG_FILE);
        this.outFile = directory.resolve(OUT_FILE);

        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toString());
        cmd.addAll(List.of("--port", Integer.toString(port), "--bind", HOST, "--save", ""));
        if (builder.appendOnly) {
            cmd.addAll(List.of("--appendonly", "yes", "--appendfsync", "always"));
        } else {
            cmd.addAll(List.of("--appendonly", "no"));
        }
        cmd.addAll(List.of("--dir", directory.toString(), "--daemonize", "no", "--protected-mode", "no",
                "--logfile", logFile.toString()));
        if (builder.password != null) {
            cmd.addAll(List.of("--requirepass", builder.password));
        }
        this.tls = builder.tls;
        if (tls != null) {
            // TLS only: the plain port is closed, the same port number speaks TLS.
            cmd.addAll(List.of("--port", "0", "--tls-port", Integer.toString(port),
                    "--tls-cert-file", tls.certificate().toString(), "--tls-key-file", tls.privateKey().toString(),
                    "--tls-ca-cert-file", tls.caCertificate().toString(), "--tls-auth-clients", "no"));
            this.tlsSockets = tls.clientContext().getSocketFactory();
        } else {
            this.tlsSockets = null;
        }
        cmd.addAll(builder.args);
        this.commandLine = List.copyOf(cmd);
        this.password = effectivePassword(commandLine);

        this.shutdownHook = new Thread(this::emergencyCleanup, "redis-server-" + port + "-shutdown-hook");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
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

        private Builder() {
        }

        /**
         * Speak TLS only ({@code --port 0 --tls-port PORT}, clients not asked for certificates), with this
         * server certificate; {@link RedisServer#url()} becomes {@code rediss://127.0.0.1:PORT} and
         * {@link RedisServer#command(String...)} connects over TLS trusting the certificates' CA. The
         * redis-server binary must be built with TLS (Debian's is; the embedded one is not).
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

        /** Use the binary shipped in the embedded-redis jar even if one is on PATH. Overrides {@link #binary(Path)}. */
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
         * @throws IllegalStateException if no binary is available, the requested port is taken, or the
         *                               server does not come up within 10 s (message has the log tail)
         */
        public RedisServer start() {
            Path bin;
            String src;
            if (binary != null) {
                bin = binary;
                src = SOURCE_EXPLICIT;
            } else if (embedded) {
                bin = embeddedBinary();
                src = SOURCE_EMBEDDED;
            } else {
                DefaultBinary chosen = defaultBinary(pathEntries(), FALLBACK_LOCATIONS);
                bin = chosen.path();
                src = chosen.source();
            }
            if (!Files.isRegularFile(bin) || !Files.isExecutable(bin)) {
                throw new IllegalStateException("redis-server binary " + bin + " (" + src
                        + ") does not exist or is not executable. " + INSTALL_HINT);
            }

            boolean autoPort = port == 0;
            int maxAttempts = autoPort ? 3 : 1;
            for (int attempt = 1; ; attempt++) {
                int p = autoPort ? freePort() : port;
                if (!autoPort && !isPortFree(p)) {
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
                    boolean portRace = e instanceof StartFailure f && f.portInUse;
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
        String scheme = tls != null ? "rediss://" : "redis://";
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
        Process p = process;
        return p != null && p.isAlive();
    }

    @Override
    public String toString() {
        return "RedisServer[" + HOST + ":" + port + ", " + (isRunning() ? "pid " + pid() : closed ? "closed" : "stopped")
                + ", " + source + " " + binary + "]";
    }

    // ------------------------------------------------------------------------------------------------ commands

    /**
     * Sends one command over a fresh connection (authenticating first if a password is set) and returns the
     * reply: {@code String} for simple and bulk strings, {@code Long} for integers, {@code List<Object>} for
     * arrays, {@code null} for nil. RESP3 replies (after {@code HELLO 3} on the same connection, which a
     * fresh connection never has) are also understood: maps become {@code Map}, sets {@code List}.
     *
     * @throws IllegalStateException if Redis replies with an error (the message starts with the Redis error
     *                               text) or this server is closed
     * @throws UncheckedIOException  if the server cannot be reached (e.g. after {@link #kill()})
     */
    public Object command(String... args) {
        Objects.requireNonNull(args, "args");
        if (args.length == 0) {
            throw new IllegalArgumentException("command needs at least a name");
        }
        for (String arg : args) {
            Objects.requireNonNull(arg, "command arguments must not be null");
        }
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
        try (Connection c = new Connection(port, tlsSockets, CONNECT_TIMEOUT_MS, COMMAND_TIMEOUT_MS)) {
            if (password != null) {
                try {
                    c.call("AUTH", password);
                } catch (ErrorReply e) {
                    throw new IllegalStateException(e.text + " (reply to AUTH)", e);
                }
            }
            try {
                return c.call(args);
            } catch (ErrorReply e) {
                throw new IllegalStateException(e.text + " (reply to " + args[0] + ")", e);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Redis command " + args[0] + " to " + HOST + ":" + port + " failed: " + e, e);
        }
    }

    // ------------------------------------------------------------------------------------------------ lifecycle

    /** SIGKILL the process and wait until it has exited; no-op if it is not running. */
    public void kill() {
        synchronized (lock) {
            killProcess();
        }
    }

    /** SIGTERM the process and wait until it has exited (SIGKILL after 10 s); no-op if it is not running. */
    public void stop() {
        synchronized (lock) {
            Process p = process;
            if (p == null || !p.isAlive()) {
                return;
            }
            p.destroy();
            if (!waitForExit(p, STOP_TIMEOUT)) {
                LOG.warn("redis-server pid {} did not exit within {} s of SIGTERM; killing it", p.pid(),
                        STOP_TIMEOUT.toSeconds());
                killProcess();
            }
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
            awaitPortFree();
            launch();
        }
    }

    /** Kills the process if running, deletes the temporary directory and removes the shutdown hook. Idempotent. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            killProcess();
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException shutdownInProgress) {
                // the hook is running or about to; nothing to remove
            }
            if (ownsDirectory) {
                deleteRecursively(directory);
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
        ProcessBuilder pb = new ProcessBuilder(commandLine)
                .directory(directory.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(outFile.toFile()));
        Process p = spawn(pb);
        process = p;
        try {
            p.getOutputStream().close(); // nothing to say on stdin
        } catch (IOException ignored) {
            // harmless
        }
        awaitReady(p);
        LOG.debug("Started redis-server pid {} on {}:{} ({} {})", p.pid(), HOST, port, source, binary);
    }

    private Process spawn(ProcessBuilder pb) {
        // A freshly written executable can briefly be "busy" if another thread forked while it was open for
        // writing (ETXTBSY); that clears as soon as the forked child execs, so retry for a moment.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
        while (true) {
            try {
                return pb.start();
            } catch (IOException e) {
                boolean busy = String.valueOf(e.getMessage()).contains("Text file busy");
                if (!busy || System.nanoTime() - deadline > 0) {
                    throw new StartFailure("Cannot launch redis-server: " + e.getMessage() + "\nCommand line: "
                            + printableCommandLine() + "\n" + INSTALL_HINT, false, e);
                }
                sleep(20);
            }
        }
    }

    private void awaitReady(Process p) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Exception lastProbeFailure = null;
        while (true) {
            if (!p.isAlive()) {
                throw startFailure(p, "redis-server exited with code " + p.exitValue() + " before answering PING",
                        lastProbeFailure);
            }
            try {
                if (probe(p.pid())) {
                    return;
                }
            } catch (IOException | IllegalStateException e) {
                lastProbeFailure = e;
            } catch (ForeignServer e) {
                throw startFailure(p, e.getMessage(), null);
            }
            if (System.nanoTime() - deadline > 0) {
                throw startFailure(p, "redis-server did not answer PING within " + START_TIMEOUT.toSeconds() + " s",
                        lastProbeFailure);
            }
            if (!sleep(25)) {
                throw startFailure(p, "interrupted while waiting for redis-server to answer PING", null);
            }
        }
    }

    /** True once our process answers PONG and has loaded its data set; false/exception while not yet. */
    private boolean probe(long expectedPid) throws IOException {
        try (Connection c = new Connection(port, tlsSockets, 250, 1_000)) {
            if (password != null) {
                c.call("AUTH", password);
            }
            if (!"PONG".equals(c.call("PING"))) {
                return false;
            }
            String pid = infoField(c, "server", "process_id");
            if (pid != null && !pid.equals(Long.toString(expectedPid))) {
                throw new ForeignServer("Port " + port + " is answered by another redis-server (pid " + pid
                        + "), not the one started here (pid " + expectedPid + ")");
            }
            return !"1".equals(infoField(c, "persistence", "loading"));
        }
    }

    /** One field of an INFO section, or null if INFO is unavailable (e.g. renamed away by extra args). */
    private static String infoField(Connection c, String section, String field) throws IOException {
        try {
            return parseInfo(c.call("INFO", section)).get(field);
        } catch (ErrorReply e) {
            return null;
        }
    }

    private static Map<String, String> parseInfo(Object reply) {
        Map<String, String> fields = new LinkedHashMap<>();
        if (reply instanceof String text) {
            for (String line : text.split("\r?\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && !line.startsWith("#")) {
                    fields.put(line.substring(0, colon), line.substring(colon + 1).trim());
                }
            }
        }
        return fields;
    }

    private StartFailure startFailure(Process p, String reason, Exception cause) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        waitForExit(p, Duration.ofSeconds(5));
        String logTail = tail(logFile);
        String outTail = tail(outFile);
        StringBuilder msg = new StringBuilder()
                .append("Could not start redis-server on ").append(HOST).append(':').append(port).append(": ")
                .append(reason);
        if (cause != null) {
            msg.append(" (last probe: ").append(cause).append(')');
        }
        msg.append("\nCommand line: ").append(printableCommandLine());
        msg.append("\nLast ").append(LOG_TAIL_LINES).append(" lines of ").append(logFile).append(":\n")
                .append(logTail.isEmpty() ? "  (empty)\n" : logTail);
        if (!outTail.isEmpty()) {
            msg.append("Process output (").append(outFile).append("):\n").append(outTail);
        }
        boolean portInUse = (logTail + outTail).contains("Address already in use");
        return new StartFailure(msg.toString(), portInUse, cause);
    }

    private String printableCommandLine() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < commandLine.size(); i++) {
            String token = commandLine.get(i);
            boolean secret = i > 0 && commandLine.get(i - 1).equalsIgnoreCase("--requirepass");
            String shown = secret ? "***" : token;
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(shown.isEmpty() || shown.contains(" ") ? '"' + shown + '"' : shown);
        }
        return sb.toString();
    }

    private static String tail(Path file) {
        if (!Files.isRegularFile(file)) {
            return "";
        }
        Deque<String> last = new ArrayDeque<>();
        try (Stream<String> lines = Files.lines(file, StandardCharsets.ISO_8859_1)) {
            lines.forEach(line -> {
                last.addLast(line);
                if (last.size() > LOG_TAIL_LINES) {
                    last.removeFirst();
                }
            });
        } catch (IOException | UncheckedIOException e) {
            return "  (cannot read " + file + ": " + e.getMessage() + ")\n";
        }
        StringBuilder sb = new StringBuilder();
        last.forEach(line -> sb.append("  ").append(line).append('\n'));
        return sb.toString();
    }

    /** Caller holds lock (or is the shutdown hook). */
    private void killProcess() {
        Process p = process;
        if (p == null) {
            return;
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly); // e.g. an AOF-rewrite child
        if (p.isAlive()) {
            p.destroyForcibly();
            if (!waitForExit(p, STOP_TIMEOUT)) {
                LOG.warn("redis-server pid {} still alive {} s after SIGKILL", p.pid(), STOP_TIMEOUT.toSeconds());
            }
        }
    }

    private void emergencyCleanup() {
        Process p = process;
        if (p != null) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            waitForExit(p, Duration.ofSeconds(2));
        }
        if (ownsDirectory) {
            deleteRecursively(directory);
        }
    }

    private void awaitPortFree() {
        long deadline = System.nanoTime() + PORT_FREE_TIMEOUT.toNanos();
        while (!isPortFree(port)) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("Cannot restart redis-server: port " + port + " on " + HOST
                        + " is still in use after " + PORT_FREE_TIMEOUT.toSeconds() + " s");
            }
            if (!sleep(50)) {
                throw new IllegalStateException("Interrupted while waiting for port " + port + " to become free");
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

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

    static boolean isPortFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot find a free port on " + HOST, e);
        }
    }

    static List<String> pathEntries() {
        String path = System.getenv("PATH");
        if (path == null || path.isBlank()) {
            return List.of();
        }
        List<String> entries = new ArrayList<>();
        for (String entry : path.split(File.pathSeparator)) {
            if (!entry.isBlank()) {
                entries.add(entry);
            }
        }
        return entries;
    }

    /** The binary {@link Builder#start()} uses by default, and its {@link #source()}. */
    record DefaultBinary(Path path, String source) {
    }

    /**
     * {@code redis-server} from these PATH entries or fallback locations, else the embedded binary (so a machine
     * with only a JDK runs the tests).
     */
    static DefaultBinary defaultBinary(List<String> pathEntries, List<Path> fallbacks) {
        Optional<Path> onPath = findOnPath(pathEntries, fallbacks);
        if (onPath.isPresent()) {
            return new DefaultBinary(onPath.get(), SOURCE_PATH);
        }
        try {
            return new DefaultBinary(embeddedBinary(), SOURCE_EMBEDDED);
        } catch (IllegalStateException e) {
            throw new IllegalStateException("No redis-server binary available. Tried: redis-server in the "
                    + "PATH entries " + pathEntries + ", " + fallbacks
                    + ", and the embedded-redis resource " + EMBEDDED_RESOURCE + " (" + e.getMessage()
                    + "). " + INSTALL_HINT, e);
        }
    }

    /** {@code redis-server} from the PATH entries, then /usr/bin and /usr/local/bin. */
    static Optional<Path> findOnPath() {
        return findOnPath(pathEntries(), FALLBACK_LOCATIONS);
    }

    static Optional<Path> findOnPath(List<String> pathEntries, List<Path> fallbacks) {
        List<Path> candidates = new ArrayList<>();
        for (String entry : pathEntries) {
            try {
                candidates.add(Path.of(entry, "redis-server"));
            } catch (RuntimeException invalidPath) {
                // ignore malformed PATH entries
            }
        }
        candidates.addAll(fallbacks);
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate.toAbsolutePath());
            }
        }
        return Optional.empty();
    }

    /** The embedded linux-amd64 binary, extracted once per JVM (again if the temp file vanished). */
    static Path embeddedBinary() {
        synchronized (EMBEDDED_LOCK) {
            if (embeddedBinary != null && Files.isExecutable(embeddedBinary)) {
                return embeddedBinary;
            }
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
                throw new IllegalStateException("the embedded binary is linux-amd64 only, this is " + os + "/" + arch);
            }
            try (InputStream in = RedisServer.class.getResourceAsStream(EMBEDDED_RESOURCE)) {
                if (in == null) {
                    throw new IllegalStateException("resource " + EMBEDDED_RESOURCE
                            + " not on the classpath (is com.github.codemonstur:embedded-redis a dependency?)");
                }
                Path file = Files.createTempFile("brook-redis-server-6.2.6-", "");
                file.toFile().deleteOnExit();
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                try {
                    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwx------"));
                } catch (UnsupportedOperationException e) {
                    if (!file.toFile().setExecutable(true, true)) {
                        throw new IOException("cannot make " + file + " executable", e);
                    }
                }
                embeddedBinary = file;
                LOG.debug("Extracted embedded redis-server to {}", file);
                return file;
            } catch (IOException e) {
                throw new IllegalStateException("cannot extract " + EMBEDDED_RESOURCE + ": " + e, e);
            }
        }
    }

    private static boolean waitForExit(Process p, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true; // finish waiting: callers rely on the process being gone
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Sleeps; false (with the interrupt flag restored) if interrupted. */
    private static boolean sleep(long millis) {
        try {
            Thread.sleep(millis);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            paths.sorted(Comparator.reverseOrder()).forEach(path -> {
                try {
                    Files.deleteIfExists(path);
                } catch (IOException e) {
                    LOG.warn("Cannot delete {}: {}", path, e.toString());
                }
            });
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("Cannot delete {}: {}", root, e.toString());
        }
    }

    // ------------------------------------------------------------------------------------------------ RESP

    /** Thrown when startup fails; {@code portInUse} marks a lost race for an auto-chosen port. */
    private static final class StartFailure extends IllegalStateException {
        private static final long serialVersionUID = 1L;
        final boolean portInUse;

        StartFailure(String message, boolean portInUse, Throwable cause) {
            super(message, cause);
            this.portInUse = portInUse;
        }
    }

    /** A different process answered on our port. */
    private static final class ForeignServer extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ForeignServer(String message) {
            super(message);
        }
    }

    /** A Redis error reply ({@code -ERR ...}); {@code text} is exactly what Redis sent. */
    private static final class ErrorReply extends IllegalStateException {
        private static final long serialVersionUID = 1L;
        final String text;

        ErrorReply(String text) {
            super(text);
            this.text = text;
        }
    }

    /** A minimal blocking RESP2/RESP3 client over one socket (TLS when given a socket factory). */
    private static final class Connection implements AutoCloseable {
        private final Socket socket;
        private final InputStream in;
        private final OutputStream out;

        Connection(int port, javax.net.ssl.SSLSocketFactory tls, int connectTimeoutMs, int readTimeoutMs)
                throws IOException {
            Socket plain = new Socket();
            Socket s = plain;
            try {
                plain.setTcpNoDelay(true);
                plain.connect(new InetSocketAddress(InetAddress.getByName(HOST), port), connectTimeoutMs);
                plain.setSoTimeout(readTimeoutMs);
                if (tls != null) {
                    javax.net.ssl.SSLSocket secure = (javax.net.ssl.SSLSocket) tls.createSocket(plain, HOST, port, true);
                    s = secure;
                    secure.startHandshake();
                }
                in = new BufferedInputStream(s.getInputStream());
                out = new BufferedOutputStream(s.getOutputStream());
            } catch (IOException e) {
                s.close();
                throw e;
            }
            socket = s;
        }

        Object call(String... args) throws IOException {
            write(args);
            return read();
        }

        private void write(String... args) throws IOException {
            out.write(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
            for (String arg : args) {
                byte[] bytes = arg.getBytes(StandardCharsets.UTF_8);
                out.write(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(bytes);
                out.write('\r');
                out.write('\n');
            }
            out.flush();
        }

        private Object read() throws IOException {
            int type = in.read();
            if (type == -1) {
                throw new EOFException("connection closed by redis-server before a complete reply");
            }
            String line = readLine();
            switch (type) {
                case '+':
                    return line;
                case '-':
                    throw new ErrorReply(line);
                case ':':
                    return Long.parseLong(line);
                case '$': {
                    int length = Integer.parseInt(line);
                    return length < 0 ? null : new String(readBulk(length), StandardCharsets.UTF_8);
                }
                case '*':
                case '~': // RESP3 set
                case '>': { // RESP3 push
                    int count = Integer.parseInt(line);
                    if (count < 0) {
                        return null;
                    }
                    List<Object> items = new ArrayList<>(count);
                    for (int i = 0; i < count; i++) {
                        items.add(read());
                    }
                    return items;
                }
                case '%': { // RESP3 map
                    int count = Integer.parseInt(line);
                    Map<Object, Object> map = new LinkedHashMap<>();
                    for (int i = 0; i < count; i++) {
                        Object key = read();
                        map.put(key, read());
                    }
                    return map;
                }
                case '|': { // RESP3 attribute: metadata preceding the real reply
                    int count = Integer.parseInt(line);
                    for (int i = 0; i < 2 * count; i++) {
                        read();
                    }
                    return read();
                }
                case '_':
                    return null;
                case '#':
                    return "t".equals(line);
                case ',':
                    return switch (line) {
                        case "inf" -> Double.POSITIVE_INFINITY;
                        case "-inf" -> Double.NEGATIVE_INFINITY;
                        case "nan" -> Double.NaN;
                        default -> Double.parseDouble(line);
                    };
                case '(':
                    return new BigInteger(line);
                case '=': { // verbatim string: "txt:" prefix
                    String text = new String(readBulk(Integer.parseInt(line)), StandardCharsets.UTF_8);
                    return text.length() >= 4 && text.charAt(3) == ':' ? text.substring(4) : text;
                }
                case '!':
                    throw new ErrorReply(new String(readBulk(Integer.parseInt(line)), StandardCharsets.UTF_8));
                default:
                    throw new IOException("unexpected RESP type byte '" + (char) type + "' (" + type + ")");
            }
        }

        private byte[] readBulk(int length) throws IOException {
            byte[] bytes = in.readNBytes(length);
            if (bytes.length < length || in.read() != '\r' || in.read() != '\n') {
                throw new EOFException("truncated bulk reply");
            }
            return bytes;
        }

        private String readLine() throws IOException {
            ByteArrayOutputStream buffer = new ByteArrayOutputStream(64);
            while (true) {
                int b = in.read();
                if (b == -1) {
                    throw new EOFException("connection closed by redis-server in the middle of a reply");
                }
                if (b == '\r') {
                    int next = in.read();
                    if (next == '\n') {
                        return buffer.toString(StandardCharsets.UTF_8);
                    }
                    buffer.write(b);
                    if (next == -1) {
                        throw new EOFException("connection closed by redis-server in the middle of a reply");
                    }
                    buffer.write(next);
                } else {
                    buffer.write(b);
                }
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
