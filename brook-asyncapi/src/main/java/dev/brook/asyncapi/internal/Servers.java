package dev.brook.asyncapi.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The AsyncAPI server object of a broker URL. It is made from the broker's masked URL and keeps
 * only the host, port and database: user info, passwords and query parameters never reach the
 * document.
 */
final class Servers {

  private Servers() {}

  /**
   * {@code redis://app:****@cache.internal:6380/2} → host {@code cache.internal:6380}, pathname
   * {@code /2}, protocol {@code redis}; {@code rediss://} → protocol {@code rediss}; Sentinel and
   * Cluster URLs keep their list of hosts.
   */
  static ObjectNode server(ObjectMapper mapper, String maskedUrl) {
    String url = maskedUrl;
    int schemeEnd = url.indexOf("://");
    String scheme = schemeEnd > 0 ? url.substring(0, schemeEnd) : "redis";
    String rest = schemeEnd > 0 ? url.substring(schemeEnd + 3) : url;
    int query = rest.indexOf('?');
    if (query >= 0) {
      rest = rest.substring(0, query);
    }
    int at = rest.lastIndexOf('@');
    String user = at >= 0 ? maskedUser(rest.substring(0, at)) : "";
    if (at >= 0) {
      rest = rest.substring(at + 1);
    }
    int slash = rest.indexOf('/');
    String host = slash >= 0 ? rest.substring(0, slash) : rest;
    String path = slash >= 0 ? rest.substring(slash) : "";
    ObjectNode server = mapper.createObjectNode();
    server.put("host", host.isEmpty() ? "localhost" : host);
    server.put("protocol", scheme.startsWith("rediss") ? "rediss" : "redis");
    if (!path.isEmpty() && !path.equals("/")) {
      server.put("pathname", path);
    }
    String kind = switch (scheme) {
      case "redis-sentinel", "rediss-sentinel" -> "Redis Sentinel";
      case "redis-cluster", "rediss-cluster" -> "Redis Cluster";
      case "redis-socket" -> "Redis on a Unix socket";
      default -> "Redis";
    };
    server.put("title", kind);
    server.put("description", kind + " at " + scheme + "://" + user + rest
        + " (the password, if any, is not shown).");
    return server;
  }

  /** {@code app:****@} or {@code ****@}: the user name stays, the secret never appears. */
  private static String maskedUser(String userInfo) {
    int colon = userInfo.indexOf(':');
    return (colon >= 0 ? userInfo.substring(0, colon) + ":****" : "****") + "@";
  }
}
