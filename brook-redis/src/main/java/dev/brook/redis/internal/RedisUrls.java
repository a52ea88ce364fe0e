package dev.brook.redis.internal;

import io.lettuce.core.RedisURI;

/** Redis URLs in text for messages: the password is always masked. */
public final class RedisUrls {

  private RedisUrls() {}

  /** {@code redis://user:****@host:port/db}; the password never appears. */
  public static String mask(String url) {
    if (url == null) {
      return "null";
    }
    int scheme = url.indexOf("://");
    int at = url.lastIndexOf('@');
    if (scheme < 0 || at < scheme) {
      return url;
    }
    String userInfo = url.substring(scheme + 3, at);
    int colon = userInfo.indexOf(':');
    String masked = colon >= 0 ? userInfo.substring(0, colon) + ":****" : "****";
    return url.substring(0, scheme + 3) + masked + url.substring(at);
  }

  /**
   * Parses a URL, naming the accepted forms when it is not one of them. The exception carries no
   * cause: the parser's own messages quote the URL, password and all.
   */
  public static RedisURI parse(String url) {
    RedisURI uri;
    try {
      uri = RedisURI.create(url);
      if (uri.getHost() == null && uri.getSocket() == null && uri.getSentinels().isEmpty()) {
        throw new IllegalArgumentException("no host");
      }
    } catch (RuntimeException e) {
      boolean sentinel = url != null && url.matches("(?i)rediss?-sentinel://.*");
      throw new IllegalArgumentException("Not a Redis URL: '" + mask(url) + "' (" + scrub(String.valueOf(e.getMessage()), url)
          + "). " + (sentinel
              ? "Use redis-sentinel://[user:password@]host1:port1,host2:port2/db#master, for example "
                  + "redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/0#mymaster."
              : "Use redis://[user:password@]host:port/db, for example redis://127.0.0.1:6379."));
    }
    return uri;
  }

  /** {@code text} with the URL's password, as written and URL-decoded, replaced by {@code ****}. */
  static String scrub(String text, String url) {
    if (url == null) {
      return text;
    }
    int scheme = url.indexOf("://");
    int at = url.lastIndexOf('@');
    if (scheme < 0 || at < scheme) {
      return text;
    }
    String userInfo = url.substring(scheme + 3, at);
    int colon = userInfo.indexOf(':');
    String password = colon >= 0 ? userInfo.substring(colon + 1) : userInfo;
    if (password.isEmpty()) {
      return text;
    }
    String out = text.replace(password, "****");
    try {
      String decoded = java.net.URLDecoder.decode(password, java.nio.charset.StandardCharsets.UTF_8);
      if (!decoded.isEmpty()) {
        out = out.replace(decoded, "****");
      }
    } catch (IllegalArgumentException notEncoded) {
      // a stray % in the password: the raw form is replaced already
    }
    return out;
  }
}
