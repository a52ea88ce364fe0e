package dev.brook.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Shorthand for {@code @ExtendWith(RedisClusterExtension.class)}: the annotated test class gets a private
 * {@link RedisCluster} (3 masters, 3 replicas), injectable as a parameter, healthy and flushed before each test.
 * See {@link RedisClusterExtension}.
 */
@Target({ElementType.TYPE, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(RedisClusterExtension.class)
public @interface WithRedisCluster {

    /**
     * True: one default cluster for every class of the test run that asks for a shared one (started by the first,
     * closed when the run ends), which saves its start-up time per class. False (the default): a cluster of the
     * class's own, closed after it.
     */
    boolean shared() default false;
}
