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
    /** Nodes {@link #remove removed} from the cluster: killed, forgotten, never restarted. */
    private final java.util.Set<RedisServer> removed = java.util.concurrent.ConcurrentHashMap.newKeySet();
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

    /** Every node, masters first as started (removed ones too); the order never changes, the roles may (failover). */
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

    // ------------------------------------------------------------------------------------------------ topology changes

    /**
     * Moves the hash slots {@code fromSlot..toSlot} (inclusive) to {@code target}, a master, while clients keep
     * working, as {@code redis-cli --cluster reshard} does, with commands, one slot after the other: {@code CLUSTER
     * SETSLOT <slot> IMPORTING} on the target and {@code MIGRATING} on the slot's owner, then {@code CLUSTER
     * GETKEYSINSLOT} and {@code MIGRATE ... KEYS} in batches of {@code batch} keys until the slot is empty, then
     * {@code CLUSTER SETSLOT <slot> NODE <target>} on the target, the old owner and every other master. While a slot
     * migrates a client sees {@code ASK} for keys already moved and {@code TRYAGAIN} for multi-key commands whose keys
     * are split between the two nodes; afterwards {@code MOVED}. Slots the target already serves are skipped.
     *
     * @param batch keys per {@code MIGRATE} (redis-cli's {@code --cluster-pipeline}, 10 by default there); a small
     *              batch keeps a slot in the migrating state longer
     * @return how many keys were moved
     * @throws IllegalStateException if {@code target} is not a master now, or a command fails (naming it); the
     *                               slot being moved is then set {@code STABLE} again on both nodes
     */
    public int moveSlots(int fromSlot, int toSlot, RedisServer target, int batch) {
        if (fromSlot < 0 || toSlot >= SLOTS || fromSlot > toSlot) {
            throw new IllegalArgumentException("slots must be 0 <= fromSlot <= toSlot < " + SLOTS + ": " + fromSlot
                    + ".." + toSlot);
        }
        if (batch < 1) {
            throw new IllegalArgumentException("batch must be at least 1: " + batch);
        }
        ensureOpen();
        if (!masters().contains(target)) {
            throw new IllegalArgumentException(target + " is not a master of " + this + "; slots move to masters only");
        }
        String targetId = (String) target.command("CLUSTER", "MYID");
        int moved = 0;
        for (int slot = fromSlot; slot <= toSlot; slot++) {
            RedisServer source = masterForSlot(slot);
            if (source == target) {
                continue;
            }
            moved += moveSlot(slot, source, target, targetId, batch);
        }
        int last = toSlot;
        awaitAll("every node sees slots " + fromSlot + ".." + toSlot + " on " + target.port(),
                () -> running().stream().allMatch(n -> servedBy(n, last) == target.port()
                        && servedBy(n, fromSlot) == target.port()));
        closeMigrateConnections(target);
        LOG.info("Moved slots {}..{} ({} keys) to {}", fromSlot, toSlot, moved, target);
        return moved;
    }

    /** {@link #moveSlots(int, int, RedisServer, int)} of the one slot of {@code key}'s hash tag, 10 keys a batch. */
    public int moveSlotOf(String key, RedisServer target) {
        int slot = slot(key);
        return moveSlots(slot, slot, target, 10);
    }

    private int moveSlot(int slot, RedisServer source, RedisServer target, String targetId, int batch) {
        String s = Integer.toString(slot);
        String sourceId = (String) source.command("CLUSTER", "MYID");
        int moved = 0;
        try {
            target.command("CLUSTER", "SETSLOT", s, "IMPORTING", sourceId);
            source.command("CLUSTER", "SETSLOT", s, "MIGRATING", targetId);
            while (true) {
                List<?> keys = (List<?>) source.command("CLUSTER", "GETKEYSINSLOT", s, Integer.toString(batch));
                if (keys.isEmpty()) {
                    break;
                }
                List<String> migrate = new ArrayList<>(List.of("MIGRATE", RedisServer.HOST,
                        Integer.toString(target.port()), "", "0", "10000"));
                if (password != null) {
                    migrate.addAll(List.of("AUTH", password));
                }
                migrate.add("KEYS");
                keys.forEach(k -> migrate.add((String) k));
                source.command(migrate.toArray(String[]::new));
                moved += keys.size();
            }
            // The target first (it must own the slot before the source sends MOVED there), then the source, then the rest.
            target.command("CLUSTER", "SETSLOT", s, "NODE", targetId);
            source.command("CLUSTER", "SETSLOT", s, "NODE", targetId);
            for (RedisServer master : masters()) {
                if (master != target && master != source) {
                    master.command("CLUSTER", "SETSLOT", s, "NODE", targetId);
                }
            }
            return moved;
        } catch (RuntimeException e) {
            for (RedisServer node : List.of(source, target)) {
                try {
                    node.command("CLUSTER", "SETSLOT", s, "STABLE");
                } catch (RuntimeException ignored) {
                    e.addSuppressed(ignored);
                }
            }
            throw new IllegalStateException("Moving slot " + slot + " from " + source.port() + " to " + target.port()
                    + " failed after " + moved + " keys: " + e.getMessage(), e);
        }
    }

    /**
     * Closes the connections {@code MIGRATE} left open to {@code target} (the source keeps one per target for 10 s to
     * reuse it, and a leak check would count it); a later {@code MIGRATE} opens a new one.
     */
    private static void closeMigrateConnections(RedisServer target) {
        for (String line : ((String) target.command("CLIENT", "LIST")).split("\n")) {
            if (line.contains(" cmd=restore-asking ") || line.contains(" cmd=restore ")) {
                String id = line.substring(3, line.indexOf(' '));
                try {
                    target.command("CLIENT", "KILL", "ID", id);
                } catch (IllegalStateException gone) {
                    LOG.debug("MIGRATE connection {} already closed", id);
                }
            }
        }
    }

    /** The port of the master serving {@code slot} as {@code node} sees it, or -1. */
    private static int servedBy(RedisServer node, int slot) {
        for (Object range : (List<?>) node.command("CLUSTER", "SLOTS")) {
            List<?> r = (List<?>) range;
            if ((Long) r.get(0) <= slot && slot <= (Long) r.get(1)) {
                return Math.toIntExact((Long) ((List<?>) r.get(2)).get(1));
            }
        }
        return -1;
    }

    /**
     * A manual failover of {@code master}: {@code CLUSTER FAILOVER} on one of its replicas, which waits until it has
     * every write of the master and then takes over (nothing is lost, unlike {@link RedisServer#kill()}). Returns once
     * the replica reports itself master and the old master a replica, and every running node routes the master's
     * slots to the new one.
     *
     * @return the new master (the former replica)
     * @throws IllegalStateException if {@code master} is not a master or has no replica in sync, or the failover does
     *                               not finish within 30 s
     */
    public RedisServer failover(RedisServer master) {
        ensureOpen();
        Object role = master.command("ROLE");
        if (!(role instanceof List<?> r) || !"master".equals(String.valueOf(r.getFirst()))) {
            throw new IllegalStateException(master + " is not a master (ROLE: " + role + ")");
        }
        RedisServer replica = null;
        for (Object entry : (List<?>) r.get(2)) {
            int port = Integer.parseInt(String.valueOf(((List<?>) entry).get(1)));
            RedisServer candidate = node(port);
            if (candidate.isRunning()) {
                replica = candidate;
                break;
            }
        }
        if (replica == null) {
            throw new IllegalStateException(master + " has no running replica to fail over to");
        }
        int slot = anySlotOf(master);
        replica.command("CLUSTER", "FAILOVER");
        RedisServer promoted = replica;
        awaitAll("replica " + promoted.port() + " promoted in place of " + master.port(), () ->
                "master".equals(String.valueOf(((List<?>) promoted.command("ROLE")).getFirst()))
                        && "slave".equals(String.valueOf(((List<?>) master.command("ROLE")).getFirst()))
                        && (slot < 0 || running().stream().allMatch(n -> servedBy(n, slot) == promoted.port())));
        LOG.info("Failed {} over to {}", master, promoted);
        return promoted;
    }

    /**
     * Removes {@code node} from the cluster for good, as {@code redis-cli --cluster del-node} does: kills it, then
     * every other node forgets it ({@code CLUSTER FORGET}), so clients no longer find it in the topology. It must
     * serve no slots: a replica, or a former master after {@link #failover}. {@link #awaitHealthy()} neither restarts
     * nor expects it afterwards; a cluster stays one node smaller until closed, so use it on a cluster of the test's
     * own ({@link RedisClusterExtension#RedisClusterExtension(java.util.function.Consumer)}).
     *
     * @throws IllegalStateException if {@code node} serves slots or is not one of this cluster's nodes
     */
    public void remove(RedisServer node) {
        ensureOpen();
        node(node.port());
        String id = (String) node.command("CLUSTER", "MYID");
        if (anySlotOf(node) >= 0 && "master".equals(String.valueOf(((List<?>) node.command("ROLE")).getFirst()))) {
            throw new IllegalStateException(node + " serves slots; fail it over or move its slots before removing it");
        }
        node.kill();
        removed.add(node);
        for (RedisServer other : running()) {
            try {
                other.command("CLUSTER", "FORGET", id);
            } catch (IllegalStateException e) {
                if (!String.valueOf(e.getMessage()).contains("Unknown node")) {
                    throw e; // a test may have made the others forget it already
                }
            }
        }
        awaitAll("every node forgot " + node.port(), () -> running().stream().allMatch(this::knowsAll));
        LOG.info("Removed {} ({}) from the cluster", node, id);
    }

    /** One slot {@code master} serves, or -1 when it serves none. */
    private int anySlotOf(RedisServer master) {
        for (Object range : (List<?>) master.command("CLUSTER", "SLOTS")) {
            List<?> r = (List<?>) range;
            if (Math.toIntExact((Long) ((List<?>) r.get(2)).get(1)) == master.port()) {
                return Math.toIntExact((Long) r.get(0));
            }
        }
        return -1;
    }

    /** {@code FLUSHALL} on every master (a cluster has no command that empties all of them). */
    public void flushAll() {
        for (RedisServer master : masters()) {
            master.command("FLUSHALL");
        }
    }

    /**
     * Waits until every message published on any node so far has reached every node's subscribers. A cluster
     * forwards a PUBLISH to the other nodes over its bus, asynchronously: a message a test published just before it
     * ended can still arrive at another node after the next test subscribed there, and reach that test's handler.
     * Each bus link is one ordered TCP connection, so once every node has heard a marker published on every other
     * node after those messages, they have all been delivered. Used between tests ({@link RedisClusterExtension});
     * it costs one Pub/Sub connection per node for a moment.
     *
     * @throws IllegalStateException if the markers do not all arrive within 10 s
     */
    public void awaitPubSubDelivered() {
        ensureOpen();
        List<RedisServer> live = running();
        String channel = "__brook-testing:bus-barrier";
        String round = Long.toString(System.nanoTime());
        List<io.lettuce.core.pubsub.StatefulRedisPubSubConnection<String, String>> listeners = new ArrayList<>();
        List<java.util.concurrent.CountDownLatch> heard = new ArrayList<>();
        try {
            for (RedisServer node : live) {
                java.util.concurrent.CountDownLatch all = new java.util.concurrent.CountDownLatch(live.size());
                java.util.Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
                io.lettuce.core.pubsub.StatefulRedisPubSubConnection<String, String> c = node.pubSubConnection();
                listeners.add(c);
                c.addListener(new io.lettuce.core.pubsub.RedisPubSubAdapter<>() {
                    @Override
                    public void message(String ch, String message) {
                        if (message.startsWith(round + ":") && seen.add(message)) {
                            all.countDown();
                        }
                    }
                });
                c.sync().subscribe(channel);
                heard.add(all);
            }
            for (RedisServer node : live) {
                node.command("PUBLISH", channel, round + ":" + node.port());
            }
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            for (java.util.concurrent.CountDownLatch all : heard) {
                if (!all.await(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS)) {
                    throw new IllegalStateException("Pub/Sub markers published on every node of " + this
                            + " did not reach every node within 10 s: is the cluster bus stuck?");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the cluster bus", e);
        } finally {
            listeners.forEach(io.lettuce.core.pubsub.StatefulRedisPubSubConnection::close);
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
            if (!node.isRunning() && !removed.contains(node)) {
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
            if (removed.contains(node)) {
                continue;
            }
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
        if (lines.length != nodes.size() - removed.size()) {
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
        return nodes.stream().filter(n -> !removed.contains(n) && n.isRunning()).toList();
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
