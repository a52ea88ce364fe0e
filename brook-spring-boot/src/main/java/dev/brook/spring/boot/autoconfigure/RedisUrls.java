package dev.brook.spring.boot.autoconfigure;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import org.springframework.core.env.Environment;

/** Which Redis Brook connects to: {@code brook.redis.url}, else Spring Data Redis's settings, else localhost. */
final class RedisUrls {

  static final String DEFAULT = "redis://localhost:6379";

  private RedisUrls() {}

  /**
   * {@code brook.redis.url} when set; else {@code spring.data.redis.url}; else a URL made of {@code
   * spring.data.redis.host}, {@code .port}, {@code .username}, {@code .password}, {@code .database} and
   * {@code .ssl.enabled} when any of them is set; else {@link #DEFAULT}.
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
    if (!has(host) && !has(port) && !has(password) && !has(database) && !ssl) {
      return DEFAULT;
    }
    StringBuilder b = new StringBuilder(ssl ? "rediss://" : "redis://");
    if (has(password)) {
      if (has(user)) {
        b.append(encode(user));
      }
      b.append(':').append(encode(password)).append('@');
    }
    b.append(has(host) ? host : "localhost").append(':').append(has(port) ? port : "6379");
    if (has(database) && !"0".equals(database.trim())) {
      b.append('/').append(database.trim());
    }
    return b.toString();
  }

  private static String encode(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private static boolean has(String s) {
    return s != null && !s.isBlank();
  }
}
