package dev.brook.cli.internal;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import org.slf4j.LoggerFactory;

/**
 * The log level of the CLI's process (logback, configured by the {@code logback.xml} in the jar:
 * one line per event on standard error). {@code brook run} logs at INFO by default, the other
 * commands at WARN so their output stays clean.
 */
final class LogLevels {

  /** The levels {@code --log-level} accepts. */
  enum LogLevel { TRACE, DEBUG, INFO, WARN, ERROR, OFF }

  private static volatile boolean debug;

  private LogLevels() {}

  static void apply(LogLevel level) {
    debug = level == LogLevel.TRACE || level == LogLevel.DEBUG;
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(level.name()));
    }
  }

  static boolean debugEnabled() {
    return debug;
  }
}
