package dev.brook.testing;

import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test that leaves Brook's resources behind, as OkHttp's {@code OkHttpClientTestRule} fails a test that
 * leaks connections: after each test - after its own {@code @AfterEach} methods, so whatever they close is closed -
 * it waits up to 5 s (the configuration parameter {@value #GRACE_PARAMETER} sets another time) for
 * <ul>
 *   <li><b>threads</b>: every thread named {@code brook-} that started during the test (platform or virtual: the
 *       event loops and timer of a broker, consume loops, handler workers, stop threads, the {@code brook-cleaner}
 *       that lives while any broker is open) to end;</li>
 *   <li><b>Redis connections</b>: when the test class has a private server ({@link WithRedisServer},
 *       {@link RedisServerExtension}), cluster ({@link WithRedisCluster}) or Sentinel setup
 *       ({@link WithRedisSentinel}: its primary, replica and sentinels), the clients of the server or of every
 *       node ({@code CLIENT LIST}, without the server's own {@value RedisServer#CLIENT_NAME} connection,
 *       replication links and the sentinels' own links) to be back to as many as before the test;</li>
 *   <li><b>open in-memory brokers</b>: every {@link TestRedisBroker} made during the test to be closed.</li>
 * </ul>
 * and fails the test with an {@link AssertionError} naming what is left: the threads with the top of their stacks,
 * the Redis clients as {@code CLIENT LIST} shows them, the test brokers. What existed before the test (a broker
 * made in {@code @BeforeAll}, the server's own connection) does not count; the same check runs for the test class
 * as a whole after its {@code @AfterAll} methods (threads and test brokers).
 *
 * <pre>{@code
 * @WithRedisServer
 * @CheckLeaks
 * class OrderServiceTest {
 *     @Test
 *     void handlesAnOrder(RedisServer redis) {
 *         try (RedisBroker broker = RedisBroker.builder().url(redis.url()).build()) {   // closed: passes
 *             ...
 *         }
 *     }
 * }
 * }</pre>
 *
 * <p>To check every test class of a module, register it through JUnit's extension auto-detection: a file
 * {@code META-INF/services/org.junit.jupiter.api.extension.Extension} on the test class path containing
 * {@code dev.brook.testing.LeakCheckExtension}, and {@code junit.jupiter.extensions.autodetection.enabled=true}
 * in {@code junit-platform.properties}.
 *
 * <p>Tests of one class must not run concurrently with each other (nor with other classes that share threads
 * of the same JVM), or one test's threads are taken for another's leak. A broker that was never started, made
 * while another broker was open, shows only as an unclosed object: it has no thread or connection of its own to
 * count.
 */
public final class LeakCheckExtension implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback,
        AfterEachCallback {

    /** The prefix of the threads Brook starts. */
    static final String THREAD_PREFIX = "brook-";
    /** How long resources may take to go away once the test (and its cleanup) returned, unless configured. */
    static final Duration GRACE = Duration.ofSeconds(5);
    /** The JUnit configuration parameter that sets another grace period, as an ISO-8601 duration ({@code PT2S}). */
    public static final String GRACE_PARAMETER = "brook.leakcheck.grace";
    private static final long POLL_MILLIS = 25;
    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(LeakCheckExtension.class);
    private static final String CLASS_KEY = "class";
    private static final String TEST_KEY = "test";

    /**
     * What was there before: thread ids, the server and its clients by id (null without a server), test brokers.
     * The sets are mutable: a class's snapshot takes in what one of its tests was failed for, so that the class is
     * not failed for it again.
     */
    private record Snapshot(Set<Long> threads, List<RedisServer> servers, Map<String, String> clients,
            Set<TestRedisBroker> testBrokers) {
    }

    /** What is left. */
    private record Leaks(List<LiveThreads.LiveThread> threads, List<String> clients, int extraClients,
            List<TestRedisBroker> testBrokers) {

        boolean none() {
            return threads.isEmpty() && extraClients <= 0 && testBrokers.isEmpty();
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        context.getStore(NAMESPACE).put(CLASS_KEY, snapshot(null));
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Snapshot before = context.getStore(NAMESPACE).remove(CLASS_KEY, Snapshot.class);
        if (before != null) {
            check(before, "Test class " + context.getRequiredTestClass().getSimpleName(), "@AfterAll", null,
                    grace(context));
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        // This may run before RedisServerExtension's beforeEach (auto-detected extensions come first): bring a
        // server a previous test killed back now, or its clients would be counted while they reconnect.
        Optional<RedisServer> server = RedisServerExtension.startedServer(context);
        server.ifPresent(s -> RedisServerExtension.ensureRunning(s, context));
        List<RedisServer> servers = new ArrayList<>(server.stream().toList());
        // Likewise a cluster's nodes (every node's clients are counted: a broker connects to all of them).
        Optional<RedisCluster> cluster = RedisClusterExtension.startedCluster(context);
        cluster.ifPresent(c -> {
            RedisClusterExtension.ensureHealthy(c, context);
            servers.addAll(c.nodes());
        });
        // And a Sentinel setup's primary, replica and sentinels (a broker on redis-sentinel:// talks to all of them).
        RedisSentinelExtension.healthySetup(context).ifPresent(s -> {
            servers.add(s.primary());
            servers.add(s.replica());
            servers.addAll(s.sentinels());
        });
        context.getStore(NAMESPACE).put(TEST_KEY, snapshot(servers.isEmpty() ? null : servers));
    }

    @Override
    public void afterEach(ExtensionContext context) {
        Snapshot before = context.getStore(NAMESPACE).remove(TEST_KEY, Snapshot.class);
        if (before != null) {
            check(before, "Test " + context.getRequiredTestClass().getSimpleName() + "." + context.getDisplayName(),
                    "@AfterEach", context.getStore(NAMESPACE).get(CLASS_KEY, Snapshot.class), grace(context));
        }
    }

    private static Snapshot snapshot(List<RedisServer> servers) {
        Set<Long> threads = LiveThreads.named(THREAD_PREFIX).stream().map(LiveThreads.LiveThread::tid)
                .collect(Collectors.toCollection(ConcurrentHashMap::newKeySet));
        Map<String, String> clients = servers == null ? null : clients(servers);
        Set<TestRedisBroker> testBrokers = ConcurrentHashMap.newKeySet();
        testBrokers.addAll(TestRedisBroker.OPEN);
        return new Snapshot(threads, clients == null ? null : servers, clients, testBrokers);
    }

    /**
     * Waits up to {@link #GRACE} for the leaks to go away; fails naming those that stayed, and adds them to
     * {@code enclosing} (the class's snapshot, or null) so that they fail only this test.
     */
    private static void check(Snapshot before, String who, String cleanup, Snapshot enclosing, Duration grace) {
        long deadline = System.nanoTime() + grace.toNanos();
        Leaks leaks;
        while (!(leaks = leaks(before)).none()) {
            if (System.nanoTime() - deadline > 0) {
                if (enclosing != null) {
                    leaks.threads().forEach(t -> enclosing.threads().add(t.tid()));
                    enclosing.testBrokers().addAll(leaks.testBrokers());
                }
                throw new AssertionError(report(who, cleanup, leaks, grace));
            }
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(report(who, cleanup, leaks, grace)
                        + "\n(interrupted while waiting for them to go)");
            }
        }
    }

    private static Leaks leaks(Snapshot before) {
        List<LiveThreads.LiveThread> threads = LiveThreads.named(THREAD_PREFIX).stream()
                .filter(t -> !before.threads().contains(t.tid())).toList();
        List<String> newClients = List.of();
        int extra = 0;
        if (before.servers() != null) {
            // A server the test killed is left out: its connections are gone with it.
            List<RedisServer> running = before.servers().stream().filter(RedisServer::isRunning).toList();
            Map<String, String> now = running.isEmpty() ? null : clients(running);
            if (now != null) {
                long beforeOnRunning = before.clients().keySet().stream()
                        .filter(id -> running.stream().anyMatch(s -> id.startsWith(s.port() + "/"))).count();
                extra = (int) (now.size() - beforeOnRunning);
                newClients = now.entrySet().stream().filter(e -> !before.clients().containsKey(e.getKey()))
                        .map(Map.Entry::getValue).toList();
            }
        }
        List<TestRedisBroker> testBrokers = new ArrayList<>(TestRedisBroker.OPEN);
        testBrokers.removeAll(before.testBrokers());
        return new Leaks(threads, newClients, extra, testBrokers);
    }

    /**
     * The servers' clients by {@code port/id}, without their own and without replication links (a cluster's
     * replicas, which a failover moves); null when one cannot be asked.
     */
    private static Map<String, String> clients(List<RedisServer> servers) {
        Map<String, String> clients = new LinkedHashMap<>();
        for (RedisServer server : servers) {
            String list;
            try {
                list = (String) server.command("CLIENT", "LIST");
            } catch (UncheckedIOException | IllegalStateException down) {
                return null;
            }
            for (String line : list.split("\r?\n")) {
                if (line.isBlank() || line.contains(" name=" + RedisServer.CLIENT_NAME + " ") || replication(line)
                        || sentinelLink(line)) {
                    continue;
                }
                int start = line.startsWith("id=") ? 3 : -1;
                String id = start < 0 ? line : line.substring(start, Math.max(start, line.indexOf(' ')));
                clients.put(server.port() + "/" + id, line);
            }
        }
        return clients;
    }

    /**
     * A sentinel's own link (named {@code sentinel-<id>-cmd} or {@code -pubsub}) to a monitored server or another
     * sentinel: they come and go with the sentinels' view (a failover), not with a test.
     */
    private static boolean sentinelLink(String clientLine) {
        return clientLine.contains(" name=sentinel-");
    }

    /** A replica's link to its master, as the master ({@code S}) or the replica ({@code M}) lists it. */
    private static boolean replication(String clientLine) {
        int at = clientLine.indexOf(" flags=");
        if (at < 0) {
            return false;
        }
        int end = clientLine.indexOf(' ', at + 7);
        String flags = clientLine.substring(at + 7, end < 0 ? clientLine.length() : end);
        return flags.indexOf('S') >= 0 || flags.indexOf('M') >= 0;
    }

    private static Duration grace(ExtensionContext context) {
        return context.getConfigurationParameter(GRACE_PARAMETER).map(Duration::parse).orElse(GRACE);
    }

    private static String report(String who, String cleanup, Leaks leaks, Duration grace) {
        List<String> parts = new ArrayList<>();
        if (!leaks.threads().isEmpty()) {
            parts.add(leaks.threads().size() + " thread(s)");
        }
        if (leaks.extraClients() > 0) {
            parts.add(leaks.extraClients() + " Redis connection(s)");
        }
        if (!leaks.testBrokers().isEmpty()) {
            parts.add(leaks.testBrokers().size() + " open TestRedisBroker(s)");
        }
        StringBuilder sb = new StringBuilder(who).append(" left ").append(String.join(", ", parts))
                .append(" behind, ").append(grace.toMillis()).append(" ms after it and its ").append(cleanup)
                .append(" methods returned. Close every broker, TestRedisBroker and connection it opens ")
                .append("(try-with-resources, or ").append(cleanup).append("); a thread of a handler that ignores ")
                .append("interrupts outlives its broker's close.");
        if (!leaks.threads().isEmpty()) {
            sb.append("\n  Threads:");
            leaks.threads().forEach(t -> sb.append("\n    ").append(t));
        }
        if (leaks.extraClients() > 0) {
            sb.append("\n  Redis clients (CLIENT LIST) that were not there before:");
            leaks.clients().forEach(c -> sb.append("\n    ").append(c));
        }
        if (!leaks.testBrokers().isEmpty()) {
            sb.append("\n  TestRedisBrokers not closed:");
            leaks.testBrokers().forEach(b -> sb.append("\n    TestRedisBroker.of(").append(b.broker()).append(')'));
        }
        return sb.toString();
    }
}
