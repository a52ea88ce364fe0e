/**
 * OpenTelemetry traces for Brook ({@code dev.brook.opentelemetry.BrookTracing}): the W3C trace
 * context travels in the envelope headers as FastStream's OpenTelemetry middleware writes it, and
 * publishing and processing make spans by the messaging semantic conventions. Needs only the
 * OpenTelemetry API; the application brings the SDK or the Java agent.
 */
module dev.brook.opentelemetry {
  requires transitive dev.brook.core;
  requires dev.brook.redis;
  requires transitive io.opentelemetry.api;
  requires io.opentelemetry.context;

  exports dev.brook.opentelemetry;
}
