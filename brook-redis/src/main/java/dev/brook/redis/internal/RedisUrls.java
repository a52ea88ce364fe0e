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

  /** Whether the URL names a Redis Cluster: {@code redis-cluster://} or {@code rediss-cluster://} (TLS). */
  public static boolean isCluster(String url) {
    return url != null && (url.regionMatches(true, 0, CLUSTER, 0, CLUSTER.length())
        || url.regionMatches(true, 0, TLS_CLUSTER, 0, TLS_CLUSTER.length()));
  }

  private static final String CLUSTER = "redis-cluster://";
  private static final String TLS_CLUSTER = "rediss-cluster://";

  /**
   * The seed nodes of a cluster URL, {@code redis-cluster://[user:password@]host:port[,host:port...][?options]}
   * ({@code rediss-cluster://} for TLS): one {@link RedisURI} per node, each with the URL's credentials and
   * options, as Lettuce's {@code RedisClusterClient} takes them. Any reachable node is enough; the client
   * discovers the rest. A cluster has only database 0, so a database number other than 0 is refused.
   */
  public static java.util.List<RedisURI> parseCluster(String url) {
    boolean tls = url.regionMatches(true, 0, TLS_CLUSTER, 0, TLS_CLUSTER.length());
    String rest = url.substring((tls ? TLS_CLUSTER : CLUSTER).length());
    int at = rest.lastIndexOf('@');
    String userInfo = at >= 0 ? rest.substring(0, at + 1) : "";
    String hostsAndTail = rest.substring(at + 1);
    int tailAt = indexOfAny(hostsAndTail, "/?#");
    String hosts = tailAt < 0 ? hostsAndTail : hostsAndTail.substring(0, tailAt);
    String tail = tailAt < 0 ? "" : hostsAndTail.substring(tailAt);
    String hint = " Use " + (tls ? TLS_CLUSTER : CLUSTER) + "[user:password@]host:port[,host:port...], for example "
        + CLUSTER + "10.0.0.1:7000,10.0.0.2:7001 (any reachable nodes; the rest is discovered).";
    if (tail.startsWith("/")) {
      String db = tail.substring(1).split("[?#]", 2)[0];
      if (!db.isEmpty() && !db.equals("0")) {
        throw new IllegalArgumentException("Not a Redis Cluster URL: '" + mask(url) + "' names database " + db
            + ", but a Redis Cluster has only database 0." + hint);
      }
    }
    java.util.List<RedisURI> seeds = new java.util.ArrayList<>();
    for (String node : hosts.split(",")) {
      if (node.isBlank()) {
        throw new IllegalArgumentException("Not a Redis Cluster URL: '" + mask(url) + "' (an empty node)." + hint);
      }
      String single = (tls ? "rediss://" : "redis://") + userInfo + node.strip() + tail;
      RedisURI uri;
      try {
        uri = RedisURI.create(single);
      } catch (RuntimeException e) {
        throw new IllegalArgumentException("Not a Redis Cluster URL: '" + mask(url) + "' ("
            + scrub(String.valueOf(e.getMessage()), single) + ")." + hint);
      }
      if (uri.getHost() == null) {
        throw new IllegalArgumentException("Not a Redis Cluster URL: '" + mask(url) + "' (no host)." + hint);
      }
      seeds.add(uri);
    }
    return java.util.List.copyOf(seeds);
  }

  private static int indexOfAny(String s, String chars) {
    for (int i = 0; i < s.length(); i++) {
      if (chars.indexOf(s.charAt(i)) >= 0) {
        return i;
      }
    }
    return -1;
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
