package dev.brook.spring.boot.autoconfigure;

import io.lettuce.core.RedisClient;

/**
 * Spring Boot 4.0's dependency management picks Lettuce 6.8 for every application that uses its
 * parent or BOM, while Brook is built on Lettuce 7: fail the start with the fix rather than with a
 * {@code NoSuchMethodError} at the first message.
 */
final class LettuceVersion {

  static final int NEEDED_MAJOR = 7;

  private LettuceVersion() {}

  static void check() {
    check(RedisClient.class.getPackage().getImplementationVersion());
  }

  /** @param version Lettuce's Implementation-Version, e.g. {@code 7.7.0.RELEASE/1960d49}; null when unknown (passes) */
  static void check(String version) {
    if (version == null) {
      return;
    }
    int dot = version.indexOf('.');
    int major;
    try {
      major = Integer.parseInt(version.substring(0, dot < 0 ? version.length() : dot));
    } catch (NumberFormatException e) {
      return;
    }
    if (major < NEEDED_MAJOR) {
      throw new IllegalStateException("Brook needs Lettuce " + NEEDED_MAJOR + ".x but found io.lettuce:lettuce-core "
          + version + " on the class path, the version Spring Boot's dependency management chose. Set the property "
          + "<lettuce.version>7.7.0.RELEASE</lettuce.version> in your pom (with spring-boot-starter-parent), or manage "
          + "io.lettuce:lettuce-core 7.7.0.RELEASE before importing spring-boot-dependencies (see docs/spring-boot.md, "
          + "\"Versions\").");
    }
  }
}
