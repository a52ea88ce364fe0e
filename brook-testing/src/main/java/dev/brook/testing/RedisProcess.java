package dev.brook.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Supervision of the {@code redis-server} child process of one {@link RedisServer}: launching it (and waiting
 * until a {@link Probe} says it is ready), SIGTERM / SIGKILL by process id, waiting for the port to be free again,
 * the log tail in startup failures, the working directory and the JVM shutdown hook. It never talks RESP; the
 * probe does.
 *
 * <p>Not thread-safe on its own: {@link RedisServer} serializes the lifecycle methods under its lock. {@link #pid()}
 * and {@link #isRunning()} may be called from any thread; the shutdown hook only reads the volatile process.
 */
final class RedisProcess {

    /** Readiness check of a freshly launched process; called every 25 ms until it returns true. */
    interface Probe {
        /**
         * True once the server on the port is our process (it reports {@code pid}) and is ready; false or any
         * exception while it is not yet.
         *
         * @throws ForeignServer if another process answers on the port (startup fails at once)
         */
        boolean ready(long pid) throws Exception;
    }

    private static final Logger LOG = LoggerFactory.getLogger(RedisServer.class);
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration PORT_FREE_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(10);
    private static final int LOG_TAIL_LINES = 20;

    private final List<String> commandLine;
    private final Path directory;
    private final boolean ownsDirectory;
    private final Path logFile;
    private final Path outFile;
    private final int port;
    private final Thread shutdownHook;
    private volatile Process process;

    RedisProcess(List<String> commandLine, Path directory, boolean ownsDirectory, Path logFile, Path outFile, int port) {
        this.commandLine = commandLine;
        this.directory = directory;
        this.ownsDirectory = ownsDirectory;
        this.logFile = logFile;
        this.outFile = outFile;
        this.port = port;
        this.shutdownHook = new Thread(this::emergencyCleanup, "redis-server-" + port + "-shutdown-hook");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** Process id of the current (or, if not running, the most recent) process. */
    long pid() {
        return process.pid();
    }

    boolean isRunning() {
        Process p = process;
        return p != null && p.isAlive();
    }

    /**
     * Starts the process and waits until {@code probe} reports it ready.
     *
     * @throws StartFailure with the command line and the log tail; the process is gone by then
     */
    void launch(Probe probe) {
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
        awaitReady(p, probe);
    }

    /** SIGKILL (the process and any child, e.g. an AOF rewrite) and wait until it has exited. */
    void kill() {
        Process p = process;
        if (p == null) {
            return;
        }
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        if (p.isAlive()) {
            p.destroyForcibly();
            if (!waitForExit(p, STOP_TIMEOUT)) {
                LOG.warn("redis-server pid {} still alive {} s after SIGKILL", p.pid(), STOP_TIMEOUT.toSeconds());
            }
        }
    }

    /** SIGTERM and wait until it has exited; SIGKILL after 10 s. */
    void stop() {
        Process p = process;
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        if (!waitForExit(p, STOP_TIMEOUT)) {
            LOG.warn("redis-server pid {} did not exit within {} s of SIGTERM; killing it", p.pid(),
                    STOP_TIMEOUT.toSeconds());
            kill();
        }
    }

    /** Kills the process, removes the shutdown hook and deletes the directory if it was made for this server. */
    void close() {
        kill();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shutdownInProgress) {
            // the hook is running or about to; nothing to remove
        }
        if (ownsDirectory) {
            deleteRecursively(directory);
        }
    }

    /** Waits up to 10 s until nothing listens on the port (a restart must bind it again). */
    void awaitPortFree() {
        long deadline = System.nanoTime() + PORT_FREE_TIMEOUT.toNanos();
        while (!isPortFree(port)) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException("Cannot restart redis-server: port " + port + " on " + RedisServer.HOST
                        + " is still in use after " + PORT_FREE_TIMEOUT.toSeconds() + " s");
            }
            if (!sleep(50)) {
                throw new IllegalStateException("Interrupted while waiting for port " + port + " to become free");
            }
        }
    }

    /** The command line with any {@code --requirepass} and {@code --masterauth} value masked. */
    String printableCommandLine() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < commandLine.size(); i++) {
            String token = commandLine.get(i);
            boolean secret = i > 0 && (commandLine.get(i - 1).equalsIgnoreCase("--requirepass")
                    || commandLine.get(i - 1).equalsIgnoreCase("--masterauth"));
            String shown = secret ? "***" : token;
            if (sb.length() > 0) {
                sb.append(' ');
            }
            sb.append(shown.isEmpty() || shown.contains(" ") ? '"' + shown + '"' : shown);
        }
        return sb.toString();
    }

    // ------------------------------------------------------------------------------------------------ startup

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
                            + printableCommandLine() + "\n" + RedisBinaries.INSTALL_HINT, false, e);
                }
                sleep(20);
            }
        }
    }

    private void awaitReady(Process p, Probe probe) {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Exception lastProbeFailure = null;
        while (true) {
            if (!p.isAlive()) {
                throw startFailure(p, "redis-server exited with code " + p.exitValue() + " before answering PING",
                        lastProbeFailure);
            }
            try {
                if (probe.ready(p.pid())) {
                    return;
                }
            } catch (ForeignServer e) {
                throw startFailure(p, e.getMessage(), null);
            } catch (Exception e) {
                lastProbeFailure = e;
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

    private StartFailure startFailure(Process p, String reason, Exception cause) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        waitForExit(p, Duration.ofSeconds(5));
        String logTail = tail(logFile);
        String outTail = tail(outFile);
        StringBuilder msg = new StringBuilder()
                .append("Could not start redis-server on ").append(RedisServer.HOST).append(':').append(port)
                .append(": ").append(reason);
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

    // ------------------------------------------------------------------------------------------------ helpers

    static boolean isPortFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName(RedisServer.HOST), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(InetAddress.getByName(RedisServer.HOST), 0));
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot find a free port on " + RedisServer.HOST, e);
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

    static void deleteRecursively(Path root) {
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

    /** Startup failed; {@code portInUse} marks a lost race for an auto-chosen port. */
    static final class StartFailure extends IllegalStateException {
        private static final long serialVersionUID = 1L;
        final boolean portInUse;

        StartFailure(String message, boolean portInUse, Throwable cause) {
            super(message, cause);
            this.portInUse = portInUse;
        }
    }

    /** A different process answered on our port. */
    static final class ForeignServer extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ForeignServer(String message) {
            super(message);
        }
    }
}
