package dev.brook.internal;

import dev.brook.spi.Frame;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The default mapper: java.time, Optional and records nested in collections work out of the box. */
class CodecTest {

  record Line(String sku, int qty, Optional<String> note) {}

  record Shipment(OffsetDateTime at, Instant sent, LocalDate day, LocalDateTime local, Duration window,
      Optional<String> carrier, Optional<Integer> missing, List<Line> lines, Map<String, List<Line>> byWarehouse,
      Set<Line> extras) {}

  private final Codec codec = new Codec(Codec.defaultMapper());

  private Object roundTrip(Object value, java.lang.reflect.Type type) throws Exception {
    Frame frame = codec.encode(value, Map.of());
    return codec.decoderFor(type).decode(frame);
  }

  @Test
  void javaTimeOptionalAndNestedRecordsRoundTrip() throws Exception {
    Line pen = new Line("pen", 2, Optional.of("blue"));
    Line ink = new Line("ink", 1, Optional.empty());
    Shipment s = new Shipment(OffsetDateTime.of(2026, 3, 1, 10, 15, 30, 123_000_000, ZoneOffset.ofHours(2)),
        Instant.parse("2026-03-01T08:15:30.123456789Z"), LocalDate.of(2026, 2, 28), LocalDateTime.of(2026, 1, 2, 3, 4),
        Duration.ofMinutes(90), Optional.of("post"), Optional.empty(), List.of(pen, ink),
        Map.of("north", List.of(pen), "south", List.of()), Set.of(ink));
    assertThat(roundTrip(s, Shipment.class)).isEqualTo(s);
  }

  @Test
  void datesTravelAsIsoTextAsFastStreamWritesThem() {
    record When(OffsetDateTime at, LocalDate day, Instant sent) {}
    Frame frame = codec.encode(new When(OffsetDateTime.of(2026, 3, 1, 10, 15, 30, 0, ZoneOffset.ofHours(2)),
        LocalDate.of(2026, 2, 28), Instant.parse("2026-03-01T08:15:30Z")), Map.of());
    assertThat(new String(frame.payload(), StandardCharsets.UTF_8))
        .isEqualTo("{\"at\":\"2026-03-01T10:15:30+02:00\",\"day\":\"2026-02-28\",\"sent\":\"2026-03-01T08:15:30Z\"}");
  }

  @Test
  void pydanticDatetimesAreRead() throws Exception {
    // what a FastStream (Pydantic) service writes for datetime, date and an aware datetime in UTC
    record When(OffsetDateTime at, LocalDate day, Instant sent, LocalDateTime local) {}
    byte[] json = ("{\"at\":\"2026-03-01T10:15:30.250000+02:00\",\"day\":\"2026-02-28\","
        + "\"sent\":\"2026-03-01T08:15:30Z\",\"local\":\"2026-03-01T10:15:30\"}").getBytes(StandardCharsets.UTF_8);
    Object when = codec.decoderFor(When.class).decode(new Frame(Map.of("content-type", "application/json"), json));
    assertThat(when).isEqualTo(new When(OffsetDateTime.of(2026, 3, 1, 10, 15, 30, 250_000_000, ZoneOffset.ofHours(2)),
        LocalDate.of(2026, 2, 28), Instant.parse("2026-03-01T08:15:30Z"), LocalDateTime.of(2026, 3, 1, 10, 15, 30)));
  }

  @Test
  void aListOfRecordsAsThePayloadType() throws Exception {
    List<Line> lines = List.of(new Line("pen", 2, Optional.empty()), new Line("cup", 1, Optional.of("red")));
    java.lang.reflect.Type listOfLines = CodecTest.class.getDeclaredMethod("listOfLines").getGenericReturnType();
    assertThat(roundTrip(lines, listOfLines)).isEqualTo(lines);
  }

  @SuppressWarnings("unused")
  private static List<Line> listOfLines() {
    return null;
  }
}
