package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.redis.ChannelDestination;
import dev.brook.redis.ListDestination;
import dev.brook.redis.PatternDestination;
import dev.brook.redis.ShardChannelDestination;
import dev.brook.redis.StreamDestination;
import dev.brook.redis.internal.list.ListDescription;
import dev.brook.redis.internal.pubsub.ChannelDescription;
import dev.brook.redis.internal.pubsub.PatternDescription;
import dev.brook.redis.internal.shard.ShardChannelDescription;
import dev.brook.redis.internal.stream.StreamDescription;
import dev.brook.spi.DestinationDescription;
import dev.brook.spi.ServerDescription;
import java.util.Map;
import java.util.function.Function;

/**
 * What documentation says about Redis destinations and servers ({@code Transport.describe},
 * {@code Transport.describeServer}), for {@link RedisTransport} and any other transport of Redis
 * destinations (the in-memory one). Each kind's description is its own class.
 */
public final class RedisDescriptions {

  /**
   * The AsyncAPI protocol name: the key of the server and of the bindings, whose official Redis
   * binding is an empty placeholder, so Brook's own fields ({@code bindingVersion: custom}, as
   * FastStream writes them) pass the AsyncAPI schema.
   */
  public static final String PROTOCOL = "redis";

  private RedisDescriptions() {}

  /**
   * Each kind's description, by destination class (the public destination classes are final);
   * each lives in its kind's package next to its consumer and producer.
   */
  private static final Map<Class<?>, Function<Destination, DestinationDescription>> BY_TYPE = Map.of(
      ChannelDestination.class, d -> ChannelDescription.of((ChannelDestination) d),
      ShardChannelDestination.class, d -> ShardChannelDescription.of((ShardChannelDestination) d),
      PatternDestination.class, d -> PatternDescription.of((PatternDestination) d),
      ListDestination.class, d -> ListDescription.of((ListDestination) d),
      StreamDestination.class, d -> StreamDescription.of((StreamDestination) d));

  /** The description of the destination's kind; the generic one for a destination Redis does not have. */
  public static DestinationDescription describe(Destination destination) {
    Function<Destination, DestinationDescription> kind = BY_TYPE.get(destination.getClass());
    return kind == null ? DestinationDescription.generic(destination) : kind.apply(destination);
  }

  /**
   * The server of a masked URL, keeping only the host, port and database: {@code
   * redis://app:****@cache.internal:6380/2} → host {@code cache.internal:6380}, pathname {@code /2},
   * protocol {@code redis}; {@code rediss://} → protocol {@code rediss}; Sentinel and Cluster URLs
   * keep their list of hosts. User info appears masked in the description only; query parameters
   * never.
   */
  public static ServerDescription server(String maskedUrl) {
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
    String kind = switch (scheme) {
      case "redis-sentinel", "rediss-sentinel" -> "Redis Sentinel";
      case "redis-cluster", "rediss-cluster" -> "Redis Cluster";
      case "redis-socket" -> "Redis on a Unix socket";
      default -> "Redis";
    };
    return new ServerDescription(PROTOCOL, host.isEmpty() ? "localhost" : host,
        scheme.startsWith("rediss") ? "rediss" : "redis", !path.isEmpty() && !path.equals("/") ? path : null, kind,
        kind + " at " + scheme + "://" + user + rest + " (the password, if any, is not shown).");
  }

  /** {@code app:****@} or {@code ****@}: the user name stays, the secret never appears. */
  private static String maskedUser(String userInfo) {
    int colon = userInfo.indexOf(':');
    return (colon >= 0 ? userInfo.substring(0, colon) + ":****" : "****") + "@";
  }
}
