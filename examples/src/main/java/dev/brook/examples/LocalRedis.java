package dev.brook.examples;

import dev.brook.testing.RedisServer;

/**
 * The Redis an example talks to: the URL given with {@code --url} or {@code BROOK_REDIS_URL}, or
 * else a private {@code redis-server} started for the run (the system binary when one is on the
 * PATH, else the Redis 7.0.9 shipped in the embedded-redis artifact) and stopped on close.
 */
final class LocalRedis implements AutoCloseable {

  private final String url;
  private final RedisServer server;

  private LocalRedis(String url, RedisServer server) {
    this.url = url;
    this.server = server;
  }

  static LocalRedis resolve(String urlOption) {
    String url = urlOption != null ? urlOption : System.getenv("BROOK_REDIS_URL");
    if (url != null && !url.isBlank()) {
      System.out.println("Using Redis at " + dev.brook.redis.Redis.maskedUrl(url)
          + (urlOption != null ? " (from --url)" : " (from BROOK_REDIS_URL)"));
      return new LocalRedis(url, null);
    }
    RedisServer server = RedisServer.start();
    System.out.println("Using a private redis-server (" + server.binary() + ", from " + server.source() + ") at "
        + server.url() + "; it stops when the example exits. Pass --url to use another Redis.");
    return new LocalRedis(server.url(), server);
  }

  String url() {
    return url;
  }

  @Override
  public void close() {
    if (server != null) {
      server.close();
    }
  }
}
