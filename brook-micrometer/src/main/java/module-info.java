/**
 * Micrometer for Brook: meters named by the OpenTelemetry messaging conventions (or FastStream's
 * Prometheus names), Brook's own counters as meters, and Observations for receive and publish.
 */
module dev.brook.micrometer {
  requires transitive dev.brook.core;
  requires transitive dev.brook.redis;
  requires transitive micrometer.core;
  requires transitive micrometer.observation;
  requires transitive micrometer.commons;

  exports dev.brook.micrometer;
}
