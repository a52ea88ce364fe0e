package dev.brook;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A handler parameter that receives one message header, converted to the parameter's type:
 * {@code String}, the primitives and their boxes, {@code UUID}, enums (by constant name), {@code
 * BigDecimal}, {@code BigInteger}, {@code Instant}, {@code Duration}, {@code LocalDate} and any
 * class with a static {@code valueOf(String)} or {@code parse(CharSequence)}.
 *
 * <p>A required header (the default) that is missing, or a value that does not convert, rejects
 * the message without calling the handler: one WARN line names the header, the value and the
 * type, and the reason goes to the dead letter where there is one. An optional header ({@code
 * required = false}) that is missing is {@code null}, so its parameter cannot be a primitive.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.PARAMETER)
public @interface Header {

  /** The header's name, such as {@code tenant}. */
  String value();

  /** Whether a message without this header is rejected; default true. */
  boolean required() default true;
}
