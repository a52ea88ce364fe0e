package dev.brook.internal;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Function;

/**
 * Converters from header and path text to a parameter's type, chosen once at registration. A
 * converter throws (any RuntimeException) when the text does not fit; the caller names the header.
 */
final class TextConverters {

  /** What the error message lists. */
  static final String SUPPORTED = "String, the primitives and their boxes, UUID, enums, BigDecimal, BigInteger, Instant, "
      + "Duration, LocalDate, LocalDateTime, OffsetDateTime and classes with a static valueOf(String) or parse(CharSequence)";

  private TextConverters() {}

  /** The converter for this type, or null when there is none. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static Function<String, Object> forType(Class<?> type) {
    if (type == String.class || type == CharSequence.class || type == Object.class) return s -> s;
    if (type == int.class || type == Integer.class) return s -> Integer.valueOf(s.trim());
    if (type == long.class || type == Long.class) return s -> Long.valueOf(s.trim());
    if (type == short.class || type == Short.class) return s -> Short.valueOf(s.trim());
    if (type == byte.class || type == Byte.class) return s -> Byte.valueOf(s.trim());
    if (type == double.class || type == Double.class) return s -> Double.valueOf(s.trim());
    if (type == float.class || type == Float.class) return s -> Float.valueOf(s.trim());
    if (type == boolean.class || type == Boolean.class) return TextConverters::bool;
    if (type == char.class || type == Character.class) return TextConverters::character;
    if (type == UUID.class) return s -> UUID.fromString(s.trim());
    if (type == BigDecimal.class) return s -> new BigDecimal(s.trim());
    if (type == BigInteger.class) return s -> new BigInteger(s.trim());
    if (type == Instant.class) return s -> Instant.parse(s.trim());
    if (type == Duration.class) return s -> Duration.parse(s.trim());
    if (type == LocalDate.class) return s -> LocalDate.parse(s.trim());
    if (type == LocalDateTime.class) return s -> LocalDateTime.parse(s.trim());
    if (type == OffsetDateTime.class) return s -> OffsetDateTime.parse(s.trim());
    if (type.isEnum()) {
      Class<? extends Enum> e = (Class<? extends Enum>) type;
      return s -> Enum.valueOf(e, s.trim());
    }
    MethodHandle factory = factory(type);
    if (factory == null) {
      return null;
    }
    return s -> {
      try {
        return factory.invoke(s);
      } catch (RuntimeException | Error e) {
        throw e;
      } catch (Throwable t) {
        throw new IllegalArgumentException(t.getMessage(), t);
      }
    };
  }

  private static MethodHandle factory(Class<?> type) {
    MethodHandles.Lookup lookup = MethodHandles.publicLookup();
    for (Object[] candidate : new Object[][] {{"valueOf", String.class}, {"parse", CharSequence.class}, {"parse", String.class}}) {
      try {
        MethodHandle h = lookup.findStatic(type, (String) candidate[0], MethodType.methodType(type, (Class<?>) candidate[1]));
        return h.asType(MethodType.methodType(Object.class, String.class));
      } catch (NoSuchMethodException | IllegalAccessException e) {
        // try the next
      }
    }
    return null;
  }

  private static Object bool(String s) {
    String t = s.trim().toLowerCase(Locale.ROOT);
    if (t.equals("true")) return Boolean.TRUE;
    if (t.equals("false")) return Boolean.FALSE;
    throw new IllegalArgumentException("expected true or false");
  }

  private static Object character(String s) {
    if (s.length() != 1) {
      throw new IllegalArgumentException("expected exactly one character");
    }
    return s.charAt(0);
  }
}
