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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JUnit Jupiter extension that gives each test class its own private {@link RedisSentinel} setup.
 *
 * <ul>
 *   <li>One setup per test class, started before {@code @BeforeAll} methods run and closed after the class (also
 *       when tests fail). {@code @Nested} classes share their enclosing class's setup.</li>
 *   <li>{@link RedisSentinel} parameters are resolved in {@code @BeforeAll}/{@code @BeforeEach}/{@code @AfterEach}/
 *       {@code @AfterAll} methods and test methods.</li>
 *   <li>Before each test (before {@code @BeforeEach} methods): when a previous test killed a node (a failover
 *       test), the setup is closed and a fresh one started, so every test begins with the original roles and
 *       new ports; then {@code FLUSHALL} runs on the primary (the replica follows). Resolve the parameter per
 *       test rather than keeping it in a static field. Tests of one class must not run concurrently.</li>
 *   <li>If the setup cannot be started the class FAILS (never skips) with the reason.</li>
 * </ul>
 *
 * <pre>{@code
 * @WithRedisSentinel                     // or @ExtendWith(RedisSentinelExtension.class)
 * class MyTest {
 *     @Test
 *     void works(RedisSentinel sentinel) { connect(sentinel.url()); }
 * }
 *
 * class SecureTest {                     // customised setup
 *     @RegisterExtension
 *     static RedisSentinelExtension sentinel = new RedisSentinelExtension(b -> b.password("secret"));
 * }
 * }</pre>
 *
 * <p>Do not {@link RedisSentinel#close() close} the injected setup; killing its nodes is fine.
 */
public final class RedisSentinelExtension
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, ParameterResolver {

    private static final Logger LOG = LoggerFactory.getLogger(RedisSentinelExtension.class);
    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(RedisSentinelExtension.class);
    private static final String KEY = "redis-sentinel";

    private final Consumer<RedisSentinel.Builder> configurer;

    /** Default setup: master name {@value RedisSentinel#DEFAULT_MASTER_NAME}, no password. */
    public RedisSentinelExtension() {
        this(builder -> { });
    }

    /** A setup customised by {@code configurer}, applied to a fresh {@link RedisSentinel#builder()} per start. */
    public RedisSentinelExtension(Consumer<RedisSentinel.Builder> configurer) {
        this.configurer = Objects.requireNonNull(configurer, "configurer");
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        resource(context).setup();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        Resource resource = context.getStore(NAMESPACE).remove(KEY, Resource.class);
        if (resource != null) {
            resource.close();
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        Resource resource = resource(context);
        RedisSentinel setup = resource.setup();
        if (!setup.isRunning()) {
            LOG.debug("{} lost a node in a previous test; starting a fresh setup", setup);
            resource.renew(this::startSetup);
            setup = resource.setup();
        }
        setup.primary().command("FLUSHALL");
    }

    @Override
    public boolean supportsParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return parameterContext.getParameter().getType() == RedisSentinel.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameterContext, ExtensionContext extensionContext) {
        return resource(extensionContext).setup();
    }

    /**
     * For {@link LeakCheckExtension}, which runs before this extension's {@code beforeEach}: the class's setup when
     * it was started, made whole first (a fresh one when a previous test killed a node), so the clients it counts
     * are those of the setup the test will use.
     */
    static Optional<RedisSentinel> healthySetup(ExtensionContext context) {
        ExtensionContext classContext = classContext(context);
        Resource resource = classContext.getStore(NAMESPACE).get(KEY, Resource.class);
        if (resource == null) {
            return Optional.empty();
        }
        try {
            RedisSentinel setup = resource.setup();
            if (setup != null && !setup.isRunning()) {
                LOG.debug("{} lost a node in a previous test; starting a fresh setup", setup);
                resource.renew(null);
                setup = resource.setup();
            }
            return Optional.ofNullable(setup);
        } catch (IllegalStateException notStarted) {
            return Optional.empty(); // this extension's beforeEach fails the test with the reason
        }
    }

    private static ExtensionContext classContext(ExtensionContext context) {
        ExtensionContext classContext = context;
        while (classContext.getTestMethod().isPresent() && classContext.getParent().isPresent()) {
            classContext = classContext.getParent().get();
        }
        return classContext;
    }

    private Resource resource(ExtensionContext context) {
        ExtensionContext classContext = classContext(context);
        String owner = classContext.getTestClass().map(Class::getName).orElse(classContext.getDisplayName());
        return classContext.getStore(NAMESPACE).computeIfAbsent(KEY, key -> {
            Resource r = new Resource(owner);
            r.renew(this::startSetup);
            return r;
        }, Resource.class);
    }

    private RedisSentinel startSetup(String owner) {
        RedisSentinel.Builder builder = RedisSentinel.builder();
        configurer.accept(builder);
        try {
            return builder.start();
        } catch (RuntimeException e) {
            throw new IllegalStateException("RedisSentinelExtension could not start a private Sentinel setup for " + owner
                    + " (tests never use a shared Redis and are not skipped): " + e.getMessage(), e);
        }
    }

    /** Store value: the current setup, or why it could not be started. Closed by JUnit with its context. */
    private static final class Resource implements AutoCloseable {
        private final String owner;
        private RedisSentinel setup;
        private RuntimeException failure;
        /** What started the current setup: a renewal without a starter uses it again. */
        private java.util.function.Function<String, RedisSentinel> starter;

        Resource(String owner) {
            this.owner = owner;
        }

        synchronized void renew(java.util.function.Function<String, RedisSentinel> with) {
            if (with != null) {
                starter = with;
            }
            close();
            try {
                setup = starter.apply(owner);
                failure = null;
            } catch (RuntimeException e) {
                setup = null;
                failure = e;
            }
        }

        synchronized RedisSentinel setup() {
            if (failure != null) {
                throw new IllegalStateException(failure.getMessage(), failure);
            }
            return setup;
        }

        @Override
        public synchronized void close() {
            if (setup != null) {
                setup.close();
                setup = null;
            }
        }
    }
}
