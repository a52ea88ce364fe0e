package dev.brook.bench.jmh;

/** The small record the codec and dispatch benchmarks send: what a typical JSON message looks like. */
public record Order(long id, String item, int quantity) {

  /** The one instance every benchmark uses. */
  public static final Order SAMPLE = new Order(42, "widget", 3);
}
