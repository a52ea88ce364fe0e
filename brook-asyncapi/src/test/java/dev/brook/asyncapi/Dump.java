package dev.brook.asyncapi;

import static dev.brook.redis.Redis.*;

import dev.brook.redis.RedisBroker;
import java.nio.file.Files;
import java.nio.file.Path;

class Dump {
  public static void main(String[] args) throws Exception {
    try (RedisBroker broker = RedisBroker.create("redis://u:pw@127.0.0.1:6399/0")) {
      broker.subscriber(channel("orders")).publishTo(channel("receipts")).handle(Payloads.Order.class, (o, c) -> null);
      broker.subscriber(channel("receipts")).handle(Payloads.Receipt.class, (o, c) -> null);
      broker.subscriber(pattern("logs.{level}")).handle(String.class, (o, c) -> null);
      broker.subscriber(list("jobs")).batch(10).handle(Payloads.Job.class, (o, c) -> null);
      broker.subscriber(stream("events").group("g").consumer("c1")).handle(Payloads.Event.class, (o, c) -> null);
      AsyncApi api = AsyncApi.builder(broker).title("Orders").description("Takes `orders`, answers with receipts.").build();
      Files.writeString(Path.of("target/dump.json"), api.toJson());
      Files.writeString(Path.of("target/dump.yaml"), api.toYaml());
      Files.writeString(Path.of("target/dump.html"), api.toHtml());
    }
  }
}
