package dev.brook.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Shorthand for {@code @ExtendWith(RedisSentinelExtension.class)}: the annotated test class gets its own private
 * {@link RedisSentinel} setup (primary, replica, three sentinels), injectable as a parameter, flushed before each
 * test and started afresh when a previous test killed a node. See {@link RedisSentinelExtension}.
 */
@Target({ElementType.TYPE, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(RedisSentinelExtension.class)
public @interface WithRedisSentinel {
}
