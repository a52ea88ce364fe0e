package dev.brook.testing;

import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JUnit Jupiter extension that gives each test class its own private {@link RedisServer}.
 *
 * <ul>
 *   <li>One server per test class, started before {@code @BeforeAll} methods run and closed after the class
 *       (also when tests fail: it lives in the class-level {@link ExtensionContext.Store} as an
 *       {@link AutoCloseable}). {@code @Nested} classes share their enclosing class's server.</li>
 *   <li>{@link RedisServer} parameters are resolved in constructors, {@code @BeforeAll}/{@code @BeforeEach}/
 *       {@code @AfterEach}/{@code @AfterAll} methods and test methods; all get the same instance.</li>
 *   <li>Before each test (before {@code @BeforeEach} methods) the server is restarted if a previous test
 *       killed or stopped it, and then {@code FLUSHALL} runs, so tests never see each other's keys - and
 *       data written in {@code @BeforeAll} is gone before the first test. Tests of one class therefore must
 *       not run concurrently with each other.</li>
 *   <li>If no redis-server can be started the class FAILS (never skips) with a message naming what was tried
 *       and how to fix it. By default the binary on PATH is tried first and, if it cannot be started, the
 *       embedded Redis 7.0.9 ({@code brook.redis.binary=embedded} or {@code =path} uses only that one).</li>
 * </ul>
 *
 * <pre>{@code
 * @WithRedisServer                      // or @ExtendWith(RedisServerExtension.class)
 * class MyTest {
 *     @Test
 *     void works(RedisServer redis) { connect(redis.url()); }
 * }
 *
 * class CustomTest {                    // customised server
 *     @RegisterExtension
 *     static RedisServerExtension redis = new RedisServerExtension(b -> b.appendOnly(true));
 * }
 * }</pre>
 *
 * <p>Do not {@link RedisServer#close() close} the injected server; {@link RedisServer#kill()},
 * {@link RedisServer#stop()} and {@link RedisServer#restart()} are fine.
 */
public final class RedisServerExtension
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, ParameterResolver {

    private static final Logger LOG = LoggerFactory.getLogger(RedisServerExtension.class);
    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(RedisServerExtension.class);
    private static final String KEY = "redis-server";

    private final Consumer<RedisServer.Builder> configurer;

    /** Default server: free port, binary from PATH (falling back to the embedded one). */
    public RedisServerExtension() {
        this(builder -> { });
    }

    /**
     * Server customised by {@code configurer}, which is applied to a fresh {@link RedisServer#builder()}
     * (possibly twice, when falling back to the embedded binary, so keep it free of side effects).
     */
    public RedisServerExtension(Consumer<RedisServer.Builder> configurer) {
        this.configurer = Objects.requireNonNull(configurer, "configurer");
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        resource(context).server();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        // Only the class that started the server closes it here (a @Nested class finds its parent's server
        // through the store hierarchy, but remove() only looks at the current level).
        ServerResource resource = context.getStore(NAMESPACE).remove(KEY, ServerResource.class);
        if (resource != null) {
            resource.close();
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        RedisServer server = resource(context).server();
        ensureRunning(server, context);
        server.command("FLUSHALL");
    }

    /**
     * The server this extension started for the class of {@code context} (or an enclosing class), or empty when
     * there is none; starts nothing. For {@link LeakCheckExtension}.
     */
    static Optional<RedisServer> startedServer(ExtensionContext context) {
        ServerResource resource = context.getStore(NAMESPACE).get(KEY, ServerResource.class);
        return resource == null ? Optional.empty() : Optional.ofNullable(resource.server);
    }

    /** Restarts the server if a previous test killed or stopped it. */
    static void ensureRunning(RedisServer server, ExtensionContext context) {
        if (!server.isRunning()) {
            LOG.debug("{} is not running (a previous test killed or stopped it); restarting", server);
            try {
                server.restart();
            } catch (IllegalStateException e) {
                throw new IllegalStateException("RedisServerExtension could not restart the redis-server of "
                        + context.getRequiredTestClass().getName() + " before " + context.getDisplayName()
                        + " (tests must not close() the injected RedisServer): " + e.getMessage(), e);
            }
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == RedisServer.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return resource(extensionContext).server();
    }

    /** The server of the class owning {@code context}; started on first use (even if beforeAll never ran). */
    private ServerResource resource(ExtensionContext context) {
        ExtensionContext classContext = classContext(context);
        String owner = classContext.getTestClass().map(Class::getName).orElse(classContext.getDisplayName());
        return classContext.getStore(NAMESPACE)
                .computeIfAbsent(KEY, key -> ServerResource.start(() -> startServer(owner)), ServerResource.class);
    }

    private static ExtensionContext classContext(ExtensionContext context) {
        ExtensionContext current = context;
        while (current.getTestMethod().isPresent() && current.getParent().isPresent()) {
            current = current.getParent().get();
        }
        return current;
    }

    /**
     * Starts a server as configured; with the default binary, falls back to the embedded one if the PATH one
     * cannot be started. Throws an {@link IllegalStateException} naming everything that was tried.
     */
    RedisServer startServer(String owner) {
        RedisServer.Builder builder = RedisServer.builder();
        configurer.accept(builder);
        Optional<Path> onPath =
                builder.usesDefaultBinary() ? RedisBinaries.pathBinaryWithEmbeddedFallback() : Optional.empty();
        try {
            return builder.start();
        } catch (RuntimeException first) {
            if (onPath.isEmpty()) {
                throw failure(owner, "  1. " + describe(builder) + ": " + first.getMessage(), first);
            }
            RedisServer.Builder fallback = RedisServer.builder();
            configurer.accept(fallback);
            fallback.embedded();
            try {
                RedisServer server = fallback.start();
                LOG.warn("redis-server {} from PATH could not be started for {}; using the embedded binary {} instead."
                        + " First failure: {}", onPath.get(), owner, server.binary(), first.getMessage());
                return server;
            } catch (RuntimeException second) {
                second.addSuppressed(first);
                throw failure(owner, "  1. " + onPath.get() + " (found on PATH): " + first.getMessage()
                        + "\n  2. the embedded binary " + RedisBinaries.embeddedResource("redis-server")
                        + " from embedded-redis: "
                        + second.getMessage(), second);
            }
        }
    }

    private static String describe(RedisServer.Builder builder) {
        if (!builder.usesDefaultBinary()) {
            return "the configured binary";
        }
        String path = "redis-server on PATH (" + RedisBinaries.pathEntries() + ", " + RedisBinaries.FALLBACK_LOCATIONS + ")";
        String embedded = "the embedded binary " + RedisBinaries.embeddedResource("redis-server");
        return switch (RedisBinaries.Mode.current()) {
            case AUTO -> path + " or else " + embedded;
            case EMBEDDED -> embedded + " (" + RedisBinaries.MODE_PROPERTY + " is embedded)";
            case PATH -> path + " only (" + RedisBinaries.MODE_PROPERTY + " is path)";
        };
    }

    private static IllegalStateException failure(String owner, String attempts, Throwable cause) {
        return new IllegalStateException("RedisServerExtension could not start a private redis-server for " + owner
                + ". Tests never fall back to the shared Redis on port 6379 and are not skipped.\nTried:\n"
                + attempts.replace(" " + RedisBinaries.INSTALL_HINT, "").replace(RedisBinaries.INSTALL_HINT, "").stripTrailing()
                + "\n" + RedisBinaries.INSTALL_HINT, cause);
    }

    /** Store value: the started server, or why it could not be started. Closed by JUnit with its context. */
    private static final class ServerResource implements AutoCloseable {
        private final RedisServer server;
        private final RuntimeException failure;

        private ServerResource(RedisServer server, RuntimeException failure) {
            this.server = server;
            this.failure = failure;
        }

        static ServerResource start(Supplier<RedisServer> starter) {
            try {
                return new ServerResource(starter.get(), null);
            } catch (RuntimeException e) {
                return new ServerResource(null, e);
            }
        }

        RedisServer server() {
            if (failure != null) {
                // a fresh exception per use, so each failing test/container reports the full message
                throw new IllegalStateException(failure.getMessage(), failure);
            }
            return server;
        }

        @Override
        public void close() {
            if (server != null) {
                server.close();
            }
        }
    }
}
