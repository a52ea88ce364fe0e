package dev.brook.cli.testapp;

import static dev.brook.redis.Redis.list;

import dev.brook.App;
import dev.brook.redis.RedisBroker;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A service the console's browser test watches: its app name from {@code -Dconsole.app}, one
 * reliable list with dead letters whose handler fails on "poison…" payloads until the file named by
 * {@code -Dconsole.fixed} exists (the fix), printing each handled payload.
 */
public final class ConsoleService {

  private ConsoleService() {}

  public static App app(String redisUrl) {
    String app = System.getProperty("console.app", "console-service");
    Path fixed = Path.of(System.getProperty("console.fixed", "/nonexistent/fixed"));
    RedisBroker broker = RedisBroker.builder().url(redisUrl).appName(app).clientName(app).build();
    broker.subscriber(list("console-jobs").deadLetter()).id("console-jobs").handle(String.class, (job, ctx) -> {
      if (job.startsWith("poison") && !Files.exists(fixed)) {
        throw new IllegalStateException("cannot handle " + job + " yet");
      }
      System.out.println("handled " + job);
      System.out.flush();
      return null;
    });
    return App.create(broker).afterStartup(() -> System.out.println(app + " ready"));
  }
}
