package dev.brook.spring.boot.autoconfigure;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import org.springframework.core.env.Environment;

/** Which Redis Brook connects to: {@code brook.redis.url}, else Spring Data Redis's settings, else localhost. */
final class RedisUrls {

  static final String DEFAULT = "redis://localhost:6379";

  private RedisUrls() {}

  /**
   * {@code brook.redis.url} when set; else {@code spring.data.redis.url}; else, in Spring Data
   * Redis' own order, a Sentinel URL from {@code spring.data.redis.sentinel.master} and {@code
   * .sentinel.nodes} ({@code redis-sentinel://[user:password@]h1:p1,h2:p2[/db]#master}), a cluster
   * URL from {@code spring.data.redis.cluster.nodes} ({@code redis-cluster://[user:password@]h1:p1,h2:p2}),
   * or a URL made of {@code spring.data.redis.host}, {@code .port}; each with {@code .username},
   * {@code .password}, {@code .database} and {@code .ssl.enabled}; else {@link #DEFAULT}. The
   * password is the data nodes' ({@code spring.data.redis.password}); sentinels that require a
   * password of their own ({@code .sentinel.password}) need {@code brook.redis.url} instead.
   */
  static String resolve(BrookProperties properties, Environment env) {
    String own = properties.getRedis().getUrl();
    if (has(own)) {
      return own;
    }
    String url = env.getProperty("spring.data.redis.url");
    if (has(url)) {
      return url;
    }
    String host = env.getProperty("spring.data.redis.host");
    String port = env.getProperty("spring.data.redis.port");
    String user = env.getProperty("spring.data.redis.username");
    String password = env.getProperty("spring.data.redis.password");
    String database = env.getProperty("spring.data.redis.database");
    boolean ssl = env.getProperty("spring.data.redis.ssl.enabled", Boolean.class, false);
    String sentinelMaster = env.getProperty("spring.data.redis.sentinel.master");
    String sentinelNodes = env.getProperty("spring.data.redis.sentinel.nodes");
    String clusterNodes = env.getProperty("spring.data.redis.cluster.nodes");
    if (has(sentinelMaster) && has(sentinelNodes)) {
      StringBuilder b = credentials(new StringBuilder(ssl ? "rediss-sentinel://" : "redis-sentinel://"), user, password);
      b.append(nodes(sentinelNodes));
      database(b, database);
      return b.append('#').append(sentinelMaster.trim()).toString();
    }
    if (has(clusterNodes)) {
      // A cluster has database 0 only; Brook refuses another number in the URL with the reason.
      StringBuilder b = credentials(new StringBuilder(ssl ? "rediss-cluster://" : "redis-cluster://"), user, password);
      return b.append(nodes(clusterNodes)).toString();
    }
    if (!has(host) && !has(port) && !has(password) && !has(database) && !ssl) {
      return DEFAULT;
    }
    StringBuilder b = credentials(new StringBuilder(ssl ? "rediss://" : "redis://"), user, password);
    b.append(has(host) ? host : "localhost").append(':').append(has(port) ? port : "6379");
    database(b, database);
    return b.toString();
  }

  private static StringBuilder credentials(StringBuilder b, String user, String password) {
    if (has(password)) {
      if (has(user)) {
        b.append(encode(user));
      }
      b.append(':').append(encode(password)).append('@');
    }
    return b;
  }

  private static void database(StringBuilder b, String database) {
    if (has(database) && !"0".equals(database.trim())) {
      b.append('/').append(database.trim());
    }
  }

  /** Spring's comma-separated {@code host:port} list, blanks removed (Boot allows spaces after commas). */
  private static String nodes(String list) {
    return String.join(",", java.util.Arrays.stream(list.split(",")).map(String::trim).filter(n -> !n.isEmpty()).toList());
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static boolean has(String s) {
    return s != null && !s.isBlank();
  }
}
