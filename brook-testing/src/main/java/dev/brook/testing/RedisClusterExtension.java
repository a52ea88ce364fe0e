package dev.brook.testing;

import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

/**
 * JUnit Jupiter extension that gives a test class a private {@link RedisCluster} (3 masters and 3 replicas unless
 * configured), as {@link RedisServerExtension} gives one a {@link RedisServer}.
 *
 * <ul>
 *   <li>One cluster per test class, started before {@code @BeforeAll} methods run and closed after the class (also
 *       when tests fail). With {@code @WithRedisCluster(shared = true)} one default cluster serves every class that
 *       asks for a shared one, and is closed when the test run ends. {@code @Nested} classes share their
 *       enclosing class's cluster.</li>
 *   <li>{@link RedisCluster} parameters are resolved in constructors, lifecycle methods and test methods; all get
 *       the same instance.</li>
 *   <li>Before each test the nodes a previous test killed or stopped are restarted, the cluster is waited for until
 *       it is healthy again ({@link RedisCluster#awaitHealthy()}), every master is flushed, and messages published by an earlier test have reached every node ({@link RedisCluster#awaitPubSubDelivered()}, so none arrives during the next test). Tests of one class
 *       therefore must not run concurrently with each other.</li>
 *   <li>If the cluster cannot be started the class FAILS (never skips), naming what went wrong.</li>
 * </ul>
 *
 * <pre>{@code
 * @WithRedisCluster
 * class MyClusterTest {
 *     @Test
 *     void works(RedisCluster cluster) { connect(cluster.url()); }
 * }
 *
 * class CustomTest {
 *     @RegisterExtension
 *     static RedisClusterExtension cluster = new RedisClusterExtension(b -> b.masters(2).replicasPerMaster(0));
 * }
 * }</pre>
 *
 * <p>Do not {@link RedisCluster#close() close} the injected cluster; killing, stopping and restarting its nodes is
 * fine.
 */
public final class RedisClusterExtension
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(RedisClusterExtension.class);
    private static final String KEY = "redis-cluster";
    private static final String SHARED_KEY = "shared-redis-cluster";

    private final Consumer<RedisCluster.Builder> configurer;
    private final boolean custom;

    /** The default cluster: 3 masters, 3 replicas (shared with other classes when the annotation says so). */
    public RedisClusterExtension() {
        this.configurer = builder -> { };
        this.custom = false;
    }

    /** A cluster customised by {@code configurer} (applied to a fresh {@link RedisCluster#builder()}); never shared. */
    public RedisClusterExtension(Consumer<RedisCluster.Builder> configurer) {
        this.configurer = Objects.requireNonNull(configurer, "configurer");
        this.custom = true;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        resource(context).cluster();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        ClusterResource resource = context.getStore(NAMESPACE).remove(KEY, ClusterResource.class);
        if (resource != null) {
            resource.close();
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        RedisCluster cluster = resource(context).cluster();
        ensureHealthy(cluster, context);
        cluster.flushAll();
        cluster.awaitPubSubDelivered();
    }

    /** The cluster this extension started for the class of {@code context}, or empty; starts nothing. */
    static Optional<RedisCluster> startedCluster(ExtensionContext context) {
        ClusterResource own = context.getStore(NAMESPACE).get(KEY, ClusterResource.class);
        if (own != null) {
            return Optional.ofNullable(own.cluster);
        }
        return Optional.empty();
    }

    /** Brings back the nodes a previous test killed and waits until the cluster is healthy. */
    static void ensureHealthy(RedisCluster cluster, ExtensionContext context) {
        try {
            cluster.awaitHealthy();
        } catch (IllegalStateException e) {
            throw new IllegalStateException("RedisClusterExtension could not bring the Redis Cluster of "
                    + context.getRequiredTestClass().getName() + " back to health before " + context.getDisplayName()
                    + " (tests must not close() the injected RedisCluster): " + e.getMessage(), e);
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == RedisCluster.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return resource(extensionContext).cluster();
    }

    /**
     * The class's cluster; started on first use. A shared one is started once in the root store and referenced
     * from the class store by a resource that does not close it.
     */
    private ClusterResource resource(ExtensionContext context) {
        ExtensionContext classContext = classContext(context);
        String owner = classContext.getTestClass().map(Class::getName).orElse(classContext.getDisplayName());
        boolean shared = !custom && classContext.getTestClass()
                .flatMap(c -> AnnotationSupport.findAnnotation(c, WithRedisCluster.class))
                .map(WithRedisCluster::shared).orElse(false);
        return classContext.getStore(NAMESPACE).computeIfAbsent(KEY, key -> {
            if (!shared) {
                return ClusterResource.start(owner, this::startCluster, true);
            }
            ClusterResource root = context.getRoot().getStore(NAMESPACE).computeIfAbsent(SHARED_KEY,
                    k -> ClusterResource.start("the shared cluster (first asked for by " + owner + ")",
                            this::startCluster, true), ClusterResource.class);
            return new ClusterResource(root.cluster, root.failure, false);
        }, ClusterResource.class);
    }

    private RedisCluster startCluster() {
        RedisCluster.Builder builder = RedisCluster.builder();
        configurer.accept(builder);
        return builder.start();
    }

    private static ExtensionContext classContext(ExtensionContext context) {
        ExtensionContext current = context;
        while (current.getTestMethod().isPresent() && current.getParent().isPresent()) {
            current = current.getParent().get();
        }
        return current;
    }

    /** Store value: the started cluster, or why it could not be started. */
    private static final class ClusterResource implements AutoCloseable {
        private final RedisCluster cluster;
        private final RuntimeException failure;
        private final boolean owns;

        private ClusterResource(RedisCluster cluster, RuntimeException failure, boolean owns) {
            this.cluster = cluster;
            this.failure = failure;
            this.owns = owns;
        }

        static ClusterResource start(String owner, java.util.function.Supplier<RedisCluster> starter, boolean owns) {
            try {
                return new ClusterResource(starter.get(), null, owns);
            } catch (RuntimeException e) {
                return new ClusterResource(null, new IllegalStateException("RedisClusterExtension could not start a "
                        + "private Redis Cluster for " + owner + ". Tests never fall back to a shared Redis and are "
                        + "not skipped.\n" + e.getMessage() + "\n" + RedisBinaries.INSTALL_HINT, e), owns);
            }
        }

        RedisCluster cluster() {
            if (failure != null) {
                throw new IllegalStateException(failure.getMessage(), failure);
            }
            return cluster;
        }

        @Override
        public void close() {
            if (owns && cluster != null) {
                cluster.close();
            }
        }
    }
}
