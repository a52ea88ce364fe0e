package dev.brook;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Repeatable;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * On a {@link Subscribe @Subscribe} method: publish its non-null return value here. Repeatable;
 * each names exactly one of {@link #channel()}, {@link #list()} or {@link #stream()}. A router
 * prefixes the name, as it does the subscription's.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
@Repeatable(Publish.Repeated.class)
public @interface Publish {

  /** A Pub/Sub channel. */
  String channel() default "";

  /** A Redis List (RPUSH). */
  String list() default "";

  /** A Redis Stream (XADD). */
  String stream() default "";

  /** The container of repeated {@link Publish} annotations; written by the compiler. */
  @Documented
  @Retention(RetentionPolicy.RUNTIME)
  @Target(ElementType.METHOD)
  @interface Repeated {
    Publish[] value();
  }
}
