package dev.brook.cli.testapp;

import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.stream;

import dev.brook.App;
import dev.brook.redis.RedisBroker;

/** The service {@code brook health} checks from outside: a reliable list and a stream group, consumers named. */
public final class JobService {

  private JobService() {}

  public static App app(String redisUrl) {
    RedisBroker broker = RedisBroker.builder().url(redisUrl).clientName("job-service").build();
    broker.subscriber(list("cli-jobs").deadLetter().consumer("w1")).id("jobs").handle(String.class, (s, ctx) -> null);
    broker.subscriber(stream("cli-events").group("g").consumer("w1")).id("events").handle(String.class, (s, ctx) -> null);
    return App.create(broker);
  }
}
