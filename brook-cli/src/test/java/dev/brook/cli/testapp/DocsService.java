package dev.brook.cli.testapp;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;

import dev.brook.Broker;
import dev.brook.redis.RedisBroker;
import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.NotNull;
import jakarta.validation.constraints.Pattern;
import jakarta.validation.constraints.Size;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A service with one registration of every kind, for the documents the tests generate; it is built
 * but never started. Its factory takes no URL and returns the broker (the CLI wraps it in an App),
 * and {@link #other()} is a second factory reached as {@code DocsService#other}.
 */
public final class DocsService {

  private DocsService() {}

  public enum Severity { INFO, WARNING, CRITICAL }

  public record Job(@NotNull @Pattern(regexp = "[a-z]+") String task, @Max(10) int attempts, Optional<String> owner) {}

  public record Event(@NotNull String type, Severity severity, @Size(max = 5) List<String> tags, Map<String, Long> counters) {}

  public static Broker app() {
    RedisBroker broker = RedisBroker.create(System.getProperty("brook.redis.url", "redis://127.0.0.1:6379"));
    broker.include(new OrderService.OrderHandlers());
    broker.subscriber(channel("receipts")).handle(OrderService.Receipt.class, (r, ctx) -> null);
    broker.subscriber(list("jobs")).publishTo(stream("job-results")).batch(20).handle(Job.class, (jobs, ctx) -> null);
    broker.subscriber(stream("events").group("billing").consumer("billing-1")).handle(Event.class, (e, ctx) -> null);
    broker.subscriber(dev.brook.redis.Redis.pattern("alerts.{region}.{severity}")).handle(Event.class, (e, ctx) -> null);
    return broker;
  }

  public static Broker other() {
    RedisBroker broker = RedisBroker.create("redis://127.0.0.1:6379");
    broker.subscriber(channel("other")).handle(String.class, (s, ctx) -> null);
    return broker;
  }
}
