package dev.brook.testing;

import java.io.UncheckedIOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BooleanSupplier;

import io.lettuce.core.cluster.SlotHash;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A private Redis Cluster for tests: {@code masters × (1 + replicasPerMaster)} {@code redis-server} processes
 * (3 masters and 3 replicas by default) on free loopback ports, formed with Redis commands ({@code CLUSTER MEET},
 * {@code CLUSTER ADDSLOTSRANGE}, {@code CLUSTER REPLICATE}; no {@code redis-cli}).
 *
 * <p><b>What it owns.</b> One {@link RedisServer} per node (its process, port, temporary directory with the
 * node's {@code nodes.conf}, and the Lettuce client of its {@link RedisServer#command(String...)}).
 * {@link #close()} kills every process by PID and deletes the directories.
 *
 * <p><b>What it guarantees.</b> {@link Builder#start()} returns once every node reports
 * {@code cluster_state:ok}, knows every other node, and every replica's link to its master is up and in sync;
 * or it throws and leaves nothing running. The node timeout is short (1 s by default), so a killed master's
 * replica is promoted within about two seconds. {@link #nodes()} keeps its order (masters first, as started); the
 * roles may change after a failover, which {@link #masters()}, {@link #replicas()} and {@link #masterFor(String)}
 * ask the cluster about each time. All methods are thread-safe.
 *
 * <pre>{@code
 * try (RedisCluster cluster = RedisCluster.start()) {
 *     RedisBroker broker = RedisBroker.create(cluster.url());   // redis-cluster://127.0.0.1:p1,127.0.0.1:p2,...
 *     cluster.masterFor("{jobs}").kill();                      // its replica takes over
 *     cluster.awaitHealthy();
 * }
 * }</pre>
 */
public final class RedisCluster implements AutoCloseable {

    /** The number of hash slots of a Redis Cluster. */
    public static final int SLOTS = 16_384;

    private static final Logger LOG = LoggerFactory.getLogger(RedisCluster.class);
    private static final Duration FORM_TIMEOUT = Duration.ofSeconds(30);
    private static final long POLL_MILLIS = 10;

    private final List<RedisServer> nodes;
    private final int masterCount;
    private final String password;
    private final boolean tls;
    private volatile boolean closed;

    private RedisCluster(List<RedisServer> nodes, int masterCount, String password, boolean tls) {
        this.nodes = List.copyOf(nodes);
        this.masterCount = masterCount;
        this.password = password;
        this.tls = tls;
    }

    // ------------------------------------------------------------------------------------------------ factory

    /** Starts 3 masters and 3 replicas with all defaults. */
    public static RedisCluster start() {
        return builder().start();
    }

    /** Options for a cluster; finish with {@link Builder#start()}. */
    public static Builder builder() {
        return new Builder();
    }

    /** Options for a {@link RedisCluster}. Not thread-safe; use one builder per cluster. */
    public static final class Builder {
        private int masters = 3;
        private int replicasPerMaster = 1;
        private String password;
        private TlsCertificates tls;
        private Duration nodeTimeout = Duration.ofSeconds(1);
        private final List<String> args = new ArrayList<>();

        private Builder() {
        }

        /** How many masters share the 16384 slots (default 3). */
        public Builder masters(int masters) {
            if (masters < 1 || masters > 64) {
                throw new IllegalArgumentException("masters must be between 1 and 64: " + masters);
            }
            this.masters = masters;
            return this;
        }

        /** How many replicas each master gets (default 1; 0 for none). */
        public Builder replicasPerMaster(int replicas) {
            if (replicas < 0 || replicas > 8) {
                throw new IllegalArgumentException("replicasPerMaster must be between 0 and 8: " + replicas);
            }
            this.replicasPerMaster = replicas;
            return this;
        }

        /** {@code requirepass} (and {@code masterauth}) on every node; {@link RedisCluster#url()} carries it. */
        public Builder password(String password) {
            Objects.requireNonNull(password, "password");
            if (password.isEmpty()) {
                throw new IllegalArgumentException("password must not be empty");
            }
            this.password = password;
            return this;
        }

        /**
         * Every node speaks TLS only (clients, the cluster bus and replication); {@link RedisCluster#url()} becomes
         * {@code rediss-cluster://}. See {@link RedisServer.Builder#tls(TlsCertificates)}.
         */
        public Builder tls(TlsCertificates certificates) {
            this.tls = Objects.requireNonNull(certificates, "certificates");
            return this;
        }

        /** {@code cluster-node-timeout}: how long a node may be unreachable before it counts as failed (1 s). */
        public Builder nodeTimeout(Duration timeout) {
            if (timeout.toMillis() < 100) {
                throw new IllegalArgumentException("nodeTimeout must be at least 100 ms: " + timeout);
            }
            this.nodeTimeout = timeout;
            return this;
        }

        /** Extra command-line tokens for every node, as {@link RedisServer.Builder#arg(String...)}. */
        public Builder arg(String... tokens) {
            args.addAll(Arrays.asList(tokens));
            return this;
        }

        /**
         * Starts the nodes (in parallel), forms the cluster and waits until it is healthy.
         *
         * @throws IllegalStateException if a node cannot be started or the cluster does not form within 30 s
         *                               (naming the node and what it reported)
         */
        public RedisCluster start() {
            int count = masters * (1 + replicasPerMaster);
            long t0 = System.nanoTime();
            List<RedisServer> started = new ArrayList<>();
            try (ExecutorService starter = Executors.newVirtualThreadPerTaskExecutor()) {
                List<Future<RedisServer>> futures = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    futures.add(starter.submit(this::startNode));
                }
                RuntimeException failure = null;
                for (Future<RedisServer> f : futures) {
                    try {
                        started.add(f.get());
                    } catch (ExecutionException e) {
                        RuntimeException cause = e.getCause() instanceof RuntimeException r ? r
                                : new IllegalStateException(e.getCause());
                        if (failure == null) {
                            failure = cause;
                        } else {
                            failure.addSuppressed(cause);
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        failure = new IllegalStateException("interrupted while starting the cluster's nodes");
                    }
                }
                if (failure != null) {
                    throw failure;
                }
            } catch (RuntimeException e) {
                started.forEach(RedisServer::close);
                throw new IllegalStateException("Could not start a private Redis Cluster: " + e.getMessage(), e);
            }
            RedisCluster cluster = new RedisCluster(started, masters, password, tls != null);
            try {
                long t1 = System.nanoTime();
                cluster.form(replicasPerMaster);
                LOG.info("Started a Redis Cluster of {} nodes in {} ms (processes {} ms, forming {} ms): {}", count,
                        (System.nanoTime() - t0) / 1_000_000, (t1 - t0) / 1_000_000, (System.nanoTime() - t1) / 1_000_000,
                        cluster);
                return cluster;
            } catch (RuntimeException e) {
                cluster.close();
                throw e;
            }
        }

        private RedisServer startNode() {
            RedisServer.Builder node = RedisServer.builder()
                    .arg("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                            "--cluster-node-timeout", Long.toString(nodeTimeout.toMillis()),
                            // A bus port of its own: the default, port + 10000, is out of range for a free
                            // port above 55535, which the kernel hands out too.
                            "--cluster-port", Integer.toString(RedisProcess.freePort()),
                            // A replica syncs at once instead of waiting 5 s for more replicas to join the transfer.
                            "--repl-diskless-sync-delay", "0",
                            // A replica whose master died takes over however long the link was down.
                            "--cluster-replica-validity-factor", "0");
            if (password != null) {
                node.password(password).arg("--masterauth", password);
            }
            if (tls != null) {
                node.tls(tls).arg("--tls-cluster", "yes", "--tls-replication", "yes");
            }
            node.args(args);
            return node.start();
        }
    }

    // ------------------------------------------------------------------------------------------------ accessors

    /**
     * {@code redis-cluster://127.0.0.1:p1,127.0.0.1:p2,...} with every node (any reachable one is enough for a
     * client; the rest is discovered), with {@code :PASSWORD@} when a password is set and {@code rediss-cluster://}
     * with TLS.
     */
    public String url() {
        StringBuilder sb = new StringBuilder(tls ? "rediss-cluster://" : "redis-cluster://");
        if (password != null) {
            sb.append(':').append(URLEncoder.encode(password, StandardCharsets.UTF_8).replace("+", "%20")).append('@');
        }
        for (int i = 0; i < nodes.size(); i++) {
            sb.append(i == 0 ? "" : ",").append(RedisServer.HOST).append(':').append(nodes.get(i).port());
        }
        return sb.toString();
    }

    /** Every node, masters first as started; the order never changes, the roles may (failover). */
    public List<RedisServer> nodes() {
        return nodes;
    }

    /** The nodes that are masters now (asked of the cluster), in {@link #nodes()} order. */
    public List<RedisServer> masters() {
        return byRole(true);
    }

    /** The nodes that are replicas now (asked of the cluster), in {@link #nodes()} order. */
    public List<RedisServer> replicas() {
        return byRole(false);
    }

    /** The hash slot of {@code key} (CRC16 of its hash tag, or of the whole key). */
    public static int slot(String key) {
        return SlotHash.getSlot(key);
    }

    /** The node that serves {@code key}'s slot now, as a running node sees it ({@code CLUSTER SLOTS}). */
    public RedisServer masterFor(String key) {
        return masterForSlot(slot(key));
    }

    /** The node that serves {@code slot} now, as a running node sees it. */
    public RedisServer masterForSlot(int slot) {
        if (slot < 0 || slot >= SLOTS) {
            throw new IllegalArgumentException("slot out of range: " + slot);
        }
        ensureOpen();
        for (RedisServer asked : running()) {
            List<?> ranges;
            try {
                ranges = (List<?>) asked.command("CLUSTER", "SLOTS");
            } catch (UncheckedIOException | IllegalStateException unreachable) {
                continue;
            }
            for (Object range : ranges) {
                List<?> r = (List<?>) range;
                if ((Long) r.get(0) <= slot && slot <= (Long) r.get(1)) {
                    int port = Math.toIntExact((Long) ((List<?>) r.get(2)).get(1));
                    return node(port);
                }
            }
        }
        throw new IllegalStateException("No running node of " + this + " knows a master for slot " + slot);
    }

    /**
     * Sends one command to the master of its key (the second argument; a command without arguments goes to the
     * first running master) and follows a {@code MOVED} reply, so a command whose key is elsewhere in its
     * arguments still lands right. Replies as {@link RedisServer#command(String...)}.
     */
    public Object command(String... args) {
        Objects.requireNonNull(args, "args");
        if (args.length == 0) {
            throw new IllegalArgumentException("command needs at least a name");
        }
        ensureOpen();
        RedisServer target = args.length > 1 ? masterFor(args[1]) : masters().getFirst();
        for (int redirect = 0; ; redirect++) {
            try {
                return target.command(args);
            } catch (IllegalStateException e) {
                String message = String.valueOf(e.getMessage());
                if (!message.startsWith("MOVED ") || redirect >= 5) {
                    throw e;
                }
                // MOVED <slot> <host>:<port>
                String address = message.split(" ")[2];
                target = node(Integer.parseInt(address.substring(address.lastIndexOf(':') + 1).trim()));
            }
        }
    }

    /** {@code FLUSHALL} on every master (a cluster has no command that empties all of them). */
    public void flushAll() {
        for (RedisServer master : masters()) {
            master.command("FLUSHALL");
        }
    }

    /** True while every node's process is alive. */
    public boolean isRunning() {
        return nodes.stream().allMatch(RedisServer::isRunning);
    }

    /**
     * Restarts the nodes that are not running (a test killed or stopped them; each keeps its {@code nodes.conf} and
     * rejoins, a former master as a replica of whoever took over) and waits until the cluster is healthy again:
     * every slot served, every node {@code cluster_state:ok} and knowing all the others, every replica in sync.
     *
     * @throws IllegalStateException if that does not happen within 30 s
     */
    public void awaitHealthy() {
        ensureOpen();
        for (RedisServer node : nodes) {
            if (!node.isRunning()) {
                node.restart();
            }
        }
        awaitAll("cluster_state:ok on every node, every node known, replicas in sync", this::healthy);
    }

    @Override
    public String toString() {
        return "RedisCluster[" + url().replaceAll(":[^:@/]*@", ":***@") + (closed ? ", closed" : "") + "]";
    }

    /** Kills every node by PID, closes their clients and deletes their directories. Idempotent. */
    @Override
    public void close() {
        closed = true;
        RuntimeException failure = null;
        for (RedisServer node : nodes) {
            try {
                node.close();
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    // ------------------------------------------------------------------------------------------------ forming

    private void form(int replicasPerMaster) {
        // Distinct epochs before the meeting, as redis-cli does, so that no epoch collision must be resolved.
        for (int i = 0; i < nodes.size(); i++) {
            nodes.get(i).command("CLUSTER", "SET-CONFIG-EPOCH", Integer.toString(i + 1));
        }
        RedisServer first = nodes.getFirst();
        for (RedisServer node : nodes.subList(1, nodes.size())) {
            first.command("CLUSTER", "MEET", RedisServer.HOST, Integer.toString(node.port()),
                    Integer.toString(busPort(node)));
        }
        for (int m = 0; m < masterCount; m++) {
            int from = (int) ((long) SLOTS * m / masterCount);
            int to = (int) ((long) SLOTS * (m + 1) / masterCount) - 1;
            nodes.get(m).command("CLUSTER", "ADDSLOTSRANGE", Integer.toString(from), Integer.toString(to));
        }
        List<String> ids = nodes.stream().map(n -> (String) n.command("CLUSTER", "MYID")).toList();
        // A replica can only follow a master it knows of.
        awaitAll("every node knows every other", () -> nodes.stream().allMatch(this::knowsAll));
        for (int r = 0; r < masterCount * replicasPerMaster; r++) {
            RedisServer replica = nodes.get(masterCount + r);
            replica.command("CLUSTER", "REPLICATE", ids.get(r % masterCount));
        }
        awaitAll("cluster_state:ok on every node, replicas in sync", this::healthy);
    }

    private boolean healthy() {
        for (RedisServer node : nodes) {
            if (!node.isRunning() || !knowsAll(node)) {
                return false;
            }
            String info = (String) node.command("CLUSTER", "INFO");
            if (!info.contains("cluster_state:ok") || !info.contains("cluster_slots_assigned:" + SLOTS)) {
                return false;
            }
            String replication = (String) node.command("INFO", "replication");
            if (replication.contains("role:slave") && (!replication.contains("master_link_status:up")
                    || replication.contains("master_sync_in_progress:1"))) {
                return false;
            }
        }
        return true;
    }

    /** True when {@code node} knows every node, none in handshake or failing. */
    private boolean knowsAll(RedisServer node) {
        String[] lines = ((String) node.command("CLUSTER", "NODES")).strip().split("\n");
        if (lines.length != nodes.size()) {
            return false;
        }
        for (String line : lines) {
            String flags = line.split(" ")[2];
            if (flags.contains("handshake") || flags.contains("fail") || flags.contains("noaddr")) {
                return false;
            }
        }
        return true;
    }

    private void awaitAll(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + FORM_TIMEOUT.toNanos();
        RuntimeException last = null;
        while (true) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (UncheckedIOException | IllegalStateException e) {
                last = e;
            }
            if (System.nanoTime() - deadline > 0) {
                StringBuilder state = new StringBuilder();
                for (RedisServer node : nodes) {
                    state.append("\n  ").append(node.port()).append(": ");
                    try {
                        state.append(((String) node.command("CLUSTER", "INFO")).lines()
                                .filter(l -> l.startsWith("cluster_state") || l.startsWith("cluster_known_nodes"))
                                .toList());
                    } catch (RuntimeException e) {
                        state.append(e.getMessage());
                    }
                    state.append(logTail(node));
                }
                throw new IllegalStateException("Redis Cluster did not reach '" + what + "' within "
                        + FORM_TIMEOUT.toSeconds() + " s:" + state, last);
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for '" + what + "'", e);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------ helpers

    /** The last lines of a node's log, for a failure message. */
    private static String logTail(RedisServer node) {
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(node.logFile(), StandardCharsets.ISO_8859_1)) {
            List<String> all = lines.toList();
            StringBuilder sb = new StringBuilder();
            for (String line : all.subList(Math.max(0, all.size() - 5), all.size())) {
                sb.append("\n      ").append(line);
            }
            return sb.toString();
        } catch (java.io.IOException | UncheckedIOException e) {
            return " (no log: " + e.getMessage() + ")";
        }
    }

    /**
     * The running nodes whose own {@code ROLE} says master (or replica). Each node is asked about itself rather
     * than one node about all: gossip ({@code CLUSTER NODES}) can still show a node that just became a replica as a
     * master for a while on a loaded machine, and a FLUSHALL sent there fails with READONLY.
     */
    private List<RedisServer> byRole(boolean masters) {
        ensureOpen();
        List<RedisServer> out = new ArrayList<>();
        boolean anyAnswered = false;
        for (RedisServer node : running()) {
            Object role;
            try {
                role = node.command("ROLE");
            } catch (UncheckedIOException | IllegalStateException unreachable) {
                continue;
            }
            anyAnswered = true;
            boolean master = role instanceof List<?> r && !r.isEmpty() && "master".equals(String.valueOf(r.getFirst()));
            if (master == masters) {
                out.add(node);
            }
        }
        if (!anyAnswered) {
            throw new IllegalStateException("No node of " + this + " is running");
        }
        return out;
    }

    /** The {@code --cluster-port} of a node's command line. */
    private static int busPort(RedisServer node) {
        List<String> cmd = node.commandLine();
        int port = -1;
        for (int i = 0; i < cmd.size() - 1; i++) {
            if (cmd.get(i).equals("--cluster-port")) {
                port = Integer.parseInt(cmd.get(i + 1));
            }
        }
        return port;
    }

    private List<RedisServer> running() {
        return nodes.stream().filter(RedisServer::isRunning).toList();
    }

    private RedisServer node(int port) {
        for (RedisServer node : nodes) {
            if (node.port() == port) {
                return node;
            }
        }
        throw new IllegalStateException("Port " + port + " is not a node of " + this);
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException(this + " is closed");
        }
    }
}
