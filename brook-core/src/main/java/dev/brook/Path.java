package dev.brook;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A handler parameter that receives a named part of a pattern channel: with {@code
 * @Subscribe(pattern = "logs.{level}")}, {@code @Path("level") String level} is {@code "error"} for
 * a message on {@code logs.error}. Converted like a {@link Header @Header}. Only on pattern
 * subscriptions, and the pattern must have the part: both are checked when the handler is included.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.PARAMETER)
public @interface Path {

  /** The part's name, as written between braces in the pattern. */
  String value();
}
