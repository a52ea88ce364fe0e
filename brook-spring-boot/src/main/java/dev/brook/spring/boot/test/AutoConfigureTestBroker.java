package dev.brook.spring.boot.test;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.springframework.boot.autoconfigure.ImportAutoConfiguration;

/**
 * Runs the application's {@code RedisBroker} on Brook's in-memory Redis in a {@code @SpringBootTest}
 * (or any test context), as {@code @EmbeddedKafka} does for Kafka: a {@link
 * dev.brook.testing.TestRedisBroker} bean takes the broker over before the context starts, so no
 * Redis server is needed, publishing is synchronous (a publish returns when the handlers it reached
 * are done), and the test can inject the {@code TestRedisBroker} to read calls and what was
 * published. Needs {@code dev.brook:brook-testing} on the test class path.
 *
 * <pre>{@code
 * @SpringBootTest
 * @AutoConfigureTestBroker
 * class OrdersTest {
 *   @Autowired Broker broker;
 *   @Autowired TestRedisBroker test;
 *
 *   @Test void receipts() {
 *     broker.publish(new Order(42), channel("orders"));
 *     assertThat(test.published(channel("receipts"))).hasSize(1);
 *   }
 * }
 * }</pre>
 *
 * <p>The test broker is closed with the context (Spring's test context cache keeps a context, and so
 * its in-memory Redis, for the tests that share its configuration).
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ImportAutoConfiguration
public @interface AutoConfigureTestBroker {}
