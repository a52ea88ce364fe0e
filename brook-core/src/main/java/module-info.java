/**
 * Brook's core: the API applications use ({@code dev.brook}), the SPI a broker implementation builds
 * on ({@code dev.brook.spi}), and the machinery behind both ({@code dev.brook.internal}, open only to
 * Brook's own modules).
 *
 * <p>Jackson decodes and encodes the applications' payload types, and annotated handlers are called
 * through method handles: an application that is itself a named module opens its payload and
 * handler packages to {@code com.fasterxml.jackson.databind} and {@code dev.brook.core}.
 */
module dev.brook.core {
  requires transitive org.slf4j;
  requires transitive com.fasterxml.jackson.databind;
  requires com.fasterxml.jackson.datatype.jsr310;
  requires com.fasterxml.jackson.datatype.jdk8;
  // Optional: @Valid works when an application puts jakarta.validation and a provider on its path.
  requires static jakarta.validation;

  exports dev.brook;
  exports dev.brook.spi;
  exports dev.brook.internal to dev.brook.redis;
}
