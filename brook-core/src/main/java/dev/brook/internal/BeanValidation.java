package dev.brook.internal;

import dev.brook.BrookException;
import jakarta.validation.ConstraintViolation;
import jakarta.validation.NoProviderFoundException;
import jakarta.validation.Validation;
import jakarta.validation.ValidationException;
import jakarta.validation.Validator;
import jakarta.validation.ValidatorFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * Jakarta Bean Validation for payloads annotated {@code @Valid}. The only class of Brook that
 * touches {@code jakarta.validation} (an optional dependency): it is loaded when the first {@code
 * @Valid} handler is included, never otherwise.
 *
 * <p>One {@link ValidatorFactory} per broker, created then and closed with the broker; validators
 * are thread-safe and shared. A broker given a validator ({@code Builder.validator}, e.g. Spring
 * Boot's) uses it instead and never closes it.
 */
final class BeanValidation {

  private final ValidatorFactory factory;
  private final Validator validator;

  private BeanValidation(ValidatorFactory factory) {
    this.factory = factory;
    this.validator = factory.getValidator();
  }

  /** The caller's validator, which the caller owns: {@link #close()} leaves it alone. */
  private BeanValidation(Validator validator) {
    this.factory = null;
    this.validator = validator;
  }

  static BeanValidation of(Object validator) {
    return new BeanValidation((Validator) validator);
  }

  /**
   * @param user the handler that needs it, for the error message
   * @throws BrookException naming the dependencies to add when no provider or no EL is present
   */
  static BeanValidation create(String user) {
    try {
      return new BeanValidation(Validation.buildDefaultValidatorFactory());
    } catch (NoClassDefFoundError e) {
      throw missing(user, e);
    } catch (NoProviderFoundException e) {
      throw missing(user, e);
    } catch (ValidationException e) {
      throw new BrookException(user + " validates its payload (@Valid), but Bean Validation cannot start: " + e.getMessage()
          + " Hibernate Validator needs an Expression Language implementation: add org.glassfish.expressly:expressly.", e);
    }
  }

  private static BrookException missing(String user, Throwable e) {
    return new BrookException(user + " validates its payload (@Valid), but no Jakarta Validation provider is on the "
        + "class path (" + e + "). Add org.hibernate.validator:hibernate-validator and org.glassfish.expressly:expressly, "
        + "or remove @Valid.", e);
  }

  /** A check for payloads: a bean is validated, a collection element by element ({@code [0].item ...}). */
  PayloadCheck check() {
    return payload -> {
      if (payload == null) {
        return null;
      }
      List<String> found = new ArrayList<>();
      if (payload instanceof Collection<?> items) {
        int i = 0;
        for (Object item : items) {
          if (item != null) {
            collect(validator.validate(item), "[" + i + "].", found);
          }
          i++;
        }
      } else {
        collect(validator.validate(payload), "", found);
      }
      if (found.isEmpty()) {
        return null;
      }
      found.sort(null);
      return String.join("; ", found);
    };
  }

  private static void collect(Set<? extends ConstraintViolation<?>> violations, String prefix, List<String> out) {
    for (ConstraintViolation<?> v : violations) {
      String path = v.getPropertyPath().toString();
      out.add((prefix + path).isEmpty() ? v.getMessage() : prefix + path + " " + v.getMessage());
    }
  }

  void close() {
    if (factory != null) {
      factory.close();
    }
  }
}
