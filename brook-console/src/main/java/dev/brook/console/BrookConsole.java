package dev.brook.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.brook.redis.internal.Announcer;
import dev.brook.redis.internal.DeadLetter;
import dev.brook.redis.internal.Envelope;
import dev.brook.spi.Frame;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Brook console: one page and a small JSON API over a Redis that Brook brokers use, as a handler
 * for the JDK HTTP server ({@code server.createContext("/", console)}, any path prefix works).
 *
 * <p>It shows the brokers that announce themselves ({@code RedisBroker.Builder.announce}), their
 * subscriptions with states and counts, each destination's backlog (a stream's groups, consumers,
 * lag and pending entries with idle times; a list's length and processing lists) and dead letters
 * with their decoded envelopes. Actions (POST): replay one or all dead letters (optionally those
 * whose header matches), delete one, purge; pause and resume a subscription on every broker that
 * announces it (the broker obeys within a second); publish a message (its JSON syntax checked).
 *
 * <p>Security: with {@link Builder#readOnly(boolean) readOnly} every action answers 403. With a
 * {@link Builder#token token} every action needs {@code Authorization: Bearer <token>}; without
 * one, an action that arrives on a non-loopback address answers 403, so a console listening beyond
 * loopback never acts without a token. Reads need no token.
 *
 * <p>Threading: the handler is thread-safe; it holds one Redis connection (Lettuce's connection is
 * thread-safe), opened by {@link #create}, closed by {@link #close()}.
 */
public final class BrookConsole implements HttpHandler, AutoCloseable {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final ObjectMapper PRETTY = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private final RedisClient client;
  private final StatefulRedisConnection<byte[], byte[]> connection;
  private final RedisCommands<byte[], byte[]> redis;
  private final DeadLetters deadLetters;
  private final boolean readOnly;
  private final String token;

  private BrookConsole(Builder b) {
    this.client = RedisClient.create(b.url);
    try {
      this.connection = client.connect(ByteArrayCodec.INSTANCE);
    } catch (RuntimeException e) {
      client.shutdown();
      throw e;
    }
    this.redis = connection.sync();
    this.deadLetters = new DeadLetters(redis);
    this.readOnly = b.readOnly;
    this.token = b.token;
  }

  /** A console for this Redis ({@code redis://…}) with every default: actions allowed, no token. */
  public static BrookConsole create(String url) {
    return builder().url(url).build();
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Options of a {@link BrookConsole}. */
  public static final class Builder {
    private String url = "redis://127.0.0.1:6379";
    private boolean readOnly;
    private String token;

    private Builder() {}

    /** The Redis to show, {@code redis://[user:password@]host:port/db} (one node). */
    public Builder url(String url) {
      this.url = java.util.Objects.requireNonNull(url, "url");
      return this;
    }

    /** Refuse every action (403); the views stay. */
    public Builder readOnly(boolean readOnly) {
      this.readOnly = readOnly;
      return this;
    }

    /** Require {@code Authorization: Bearer <token>} on every action. */
    public Builder token(String token) {
      if (token != null && token.isBlank()) {
        throw new IllegalArgumentException("token must not be blank; leave it out for none.");
      }
      this.token = token;
      return this;
    }

    /** Connects to Redis. @throws io.lettuce.core.RedisConnectionException when it cannot */
    public BrookConsole build() {
      return new BrookConsole(this);
    }
  }

  @Override
  public void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String path = ex.getRequestURI().getPath();
      String context = ex.getHttpContext().getPath();
      String rel = path.substring(Math.min(path.length(), context.endsWith("/") ? context.length() - 1 : context.length()));
      if (rel.isEmpty() || rel.equals("/")) {
        if (rel.isEmpty()) {
          ex.getResponseHeaders().set("Location", path + "/");
          ex.sendResponseHeaders(302, -1);
          return;
        }
        asset(ex, "console.html", "text/html; charset=utf-8");
        return;
      }
      if (rel.equals("/console.js")) {
        asset(ex, "console.js", "text/javascript; charset=utf-8");
        return;
      }
      if (rel.equals("/console.css")) {
        asset(ex, "console.css", "text/css; charset=utf-8");
        return;
      }
      if (!rel.startsWith("/api/")) {
        send(ex, 404, error("No such page: " + rel));
        return;
      }
      String api = rel.substring(5);
      Map<String, String> q = query(ex.getRequestURI().getRawQuery());
      try {
        if ("GET".equals(ex.getRequestMethod())) {
          switch (api) {
            case "overview" -> send(ex, 200, overview());
            case "brokers" -> send(ex, 200, brokers());
            case "deadletters" -> send(ex, 200, deadLetterView(need(q, "kind"), need(q, "destination")));
            default -> send(ex, 404, error("No such view: " + api));
          }
          return;
        }
        if (!"POST".equals(ex.getRequestMethod())) {
          send(ex, 405, error("Use GET for views and POST for actions."));
          return;
        }
        String refusal = refusal(ex);
        if (refusal != null) {
          send(ex, 403, error(refusal));
          return;
        }
        JsonNode body = JSON.readTree(ex.getRequestBody().readAllBytes());
        if (body == null || body.isMissingNode()) {
          body = JSON.createObjectNode();
        }
        send(ex, 200, action(api, body));
      } catch (IllegalArgumentException e) {
        send(ex, 400, error(e.getMessage()));
      } catch (RuntimeException e) {
        send(ex, 500, error(e.toString()));
      }
    }
  }

  /** Why this action is refused, or null. */
  private String refusal(HttpExchange ex) {
    if (readOnly) {
      return "This console is read-only (--read-only): actions are refused.";
    }
    String auth = ex.getRequestHeaders().getFirst("Authorization");
    if (token != null) {
      String given = auth != null && auth.startsWith("Bearer ") ? auth.substring(7) : "";
      if (!MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
        return "This action needs the console's token: send Authorization: Bearer <token>.";
      }
      return null;
    }
    if (!ex.getLocalAddress().getAddress().isLoopbackAddress()) {
      return "This console listens beyond loopback without a token, so it refuses actions: start it with --token.";
    }
    return null;
  }

  private ObjectNode action(String api, JsonNode body) {
    ObjectNode out = JSON.createObjectNode();
    switch (api) {
      case "replay" -> out.put("replayed", deadLetters.replay(need(body, "kind"), need(body, "destination"),
          opt(body, "id"), opt(body, "header"), opt(body, "value")));
      case "delete" -> out.put("deleted", deadLetters.delete(need(body, "kind"), need(body, "destination"), need(body, "id")));
      case "purge" -> out.put("purged", deadLetters.purge(need(body, "kind"), need(body, "destination")));
      case "pause", "resume" -> out.put("brokers", control(api, need(body, "subscription")));
      case "publish" -> {
        publish(need(body, "kind"), need(body, "destination"), need(body, "payload"), body.get("headers"));
        out.put("published", true);
      }
      default -> throw new IllegalArgumentException("No such action: " + api
          + " (replay, delete, purge, pause, resume, publish).");
    }
    return out;
  }

  /** Writes the command to every announcing broker that has the subscription; returns how many. */
  private int control(String verb, String subscription) {
    int n = 0;
    for (JsonNode b : announcements()) {
      for (JsonNode s : b.path("subscriptions")) {
        if (subscription.equals(s.path("id").asText())) {
          byte[] key = bytes(Announcer.controlKey(b.path("id").asText()));
          redis.rpush(key, bytes(verb + " " + subscription));
          redis.pexpire(key, Announcer.TTL_MS * 2); // a dead broker's commands go away with it
          n++;
        }
      }
    }
    if (n == 0) {
      throw new IllegalArgumentException("No live broker announces subscription '" + subscription + "'.");
    }
    return n;
  }

  private void publish(String kind, String destination, String payload, JsonNode headerNode) {
    byte[] bytes = payload.getBytes(StandardCharsets.UTF_8);
    String trimmed = payload.strip();
    if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
      try {
        JSON.readTree(trimmed);
      } catch (IOException e) {
        throw new IllegalArgumentException("The payload looks like JSON but does not parse: " + e.getMessage());
      }
    }
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("content-type", trimmed.startsWith("{") || trimmed.startsWith("[") ? "application/json" : "text/plain");
    if (headerNode != null) {
      headerNode.fields().forEachRemaining(e -> headers.put(e.getKey(), e.getValue().asText()));
    }
    byte[] envelope = Envelope.encode(headers, bytes);
    switch (kind) {
      case "list" -> redis.rpush(bytes(destination), envelope);
      case "stream" -> redis.xadd(bytes(destination), Map.of(bytes(DeadLetters.DATA), envelope));
      case "channel" -> redis.publish(bytes(destination), envelope);
      default -> throw new IllegalArgumentException("Cannot publish to kind '" + kind + "' (list, stream, channel).");
    }
  }

  /** Live announcements (pruning the index of expired ones). */
  private List<JsonNode> announcements() {
    long now = System.currentTimeMillis();
    byte[] index = bytes(Announcer.INDEX);
    redis.zremrangebyscore(index, Range.create(Double.NEGATIVE_INFINITY, (double) now));
    List<JsonNode> out = new java.util.ArrayList<>();
    for (byte[] id : redis.zrangebyscore(index, Range.create((double) now, Double.POSITIVE_INFINITY))) {
      byte[] value = redis.get(bytes(Announcer.key(new String(id, StandardCharsets.UTF_8))));
      if (value == null) {
        continue; // killed: its key expired before its index entry
      }
      try {
        out.add(JSON.readTree(value));
      } catch (IOException e) {
        // a foreign value under Brook's key: leave it out
      }
    }
    out.sort(java.util.Comparator.comparing((JsonNode n) -> n.path("app").asText()).thenComparing(n -> n.path("id").asText()));
    return out;
  }

  private ObjectNode brokers() {
    ObjectNode out = JSON.createObjectNode();
    ArrayNode arr = out.putArray("brokers");
    announcements().forEach(arr::add);
    return out;
  }

  private ObjectNode overview() {
    ObjectNode out = JSON.createObjectNode();
    out.put("readOnly", readOnly);
    out.put("tokenRequired", token != null);
    out.put("now", System.currentTimeMillis());
    List<JsonNode> brokers = announcements();
    ArrayNode arr = out.putArray("brokers");
    brokers.forEach(arr::add);
    // Destinations: from the subscriptions the brokers announce, with their summed counts.
    Map<String, ObjectNode> dests = new TreeMap<>();
    for (JsonNode b : brokers) {
      for (JsonNode s : b.path("subscriptions")) {
        String kind = s.path("kind").asText();
        String name = s.path("destination").asText();
        ObjectNode d = dests.computeIfAbsent(kind + ":" + name, k -> {
          ObjectNode n = JSON.createObjectNode();
          n.put("kind", kind);
          n.put("name", name);
          n.putArray("subscriptions");
          return n;
        });
        ((ArrayNode) d.get("subscriptions")).add(s.path("id").asText() + "@" + b.path("app").asText());
        for (String f : List.of("received", "handled", "failed", "rejected")) {
          d.put(f, d.path(f).asLong() + s.path(f).asLong());
        }
      }
    }
    ArrayNode da = out.putArray("destinations");
    for (ObjectNode d : dests.values()) {
      try {
        backlog(d);
      } catch (RuntimeException e) {
        d.put("error", e.toString());
      }
      da.add(d);
    }
    return out;
  }

  private void backlog(ObjectNode d) {
    String kind = d.path("kind").asText();
    String name = d.path("name").asText();
    byte[] key = bytes(name);
    if (kind.equals("stream")) {
      d.put("length", redis.xlen(key));
      d.put("deadLetters", deadLetters.count(kind, name));
      ArrayNode groups = d.putArray("groups");
      if (redis.exists(key) == 0) {
        return;
      }
      for (Object g : redis.xinfoGroups(key)) {
        ObjectNode gn = flat(g);
        groups.add(gn);
        String group = gn.path("name").asText();
        ArrayNode consumers = gn.putArray("consumers");
        for (Object c : redis.xinfoConsumers(key, bytes(group))) {
          consumers.add(flat(c));
        }
        ArrayNode pending = gn.putArray("pendingEntries");
        for (var p : redis.xpending(key, bytes(group),
            Range.create("-", "+"), io.lettuce.core.Limit.from(20))) {
          ObjectNode pn = pending.addObject();
          pn.put("id", p.getId());
          pn.put("consumer", String.valueOf(p.getConsumer()));
          pn.put("idleMs", p.getMsSinceLastDelivery());
          pn.put("deliveries", p.getRedeliveryCount());
        }
      }
    } else if (kind.equals("list")) {
      d.put("length", redis.llen(key));
      d.put("deadLetters", deadLetters.count(kind, name));
      ArrayNode processing = d.putArray("processing");
      String prefix = dev.brook.redis.internal.Keys.derived(name, "processing:");
      ScanIterator<byte[]> it = ScanIterator.scan(redis, ScanArgs.Builder.matches(glob(prefix) + "*").limit(500));
      while (it.hasNext()) {
        byte[] k = it.next();
        ObjectNode pn = processing.addObject();
        pn.put("consumer", new String(k, StandardCharsets.UTF_8).substring(prefix.length()));
        pn.put("length", redis.llen(k));
      }
    }
  }

  private static String glob(String s) {
    return s.replaceAll("([*?\\[\\]\\\\])", "\\\\$1");
  }

  /** A Redis reply of alternating names and values as an object. */
  private static ObjectNode flat(Object reply) {
    ObjectNode n = JSON.createObjectNode();
    if (reply instanceof List<?> l) {
      for (int i = 0; i + 1 < l.size(); i += 2) {
        String k = text(l.get(i));
        Object v = l.get(i + 1);
        if (v instanceof Long x) {
          n.put(k, x);
        } else if (v == null) {
          n.putNull(k);
        } else if (!(v instanceof List)) {
          n.put(k, text(v));
        }
      }
    }
    return n;
  }

  private static String text(Object o) {
    return o instanceof byte[] b ? new String(b, StandardCharsets.UTF_8) : String.valueOf(o);
  }

  private ObjectNode deadLetterView(String kind, String destination) {
    ObjectNode out = JSON.createObjectNode();
    out.put("kind", kind);
    out.put("destination", destination);
    out.put("key", DeadLetters.key(destination));
    out.put("count", deadLetters.count(kind, destination));
    ArrayNode arr = out.putArray("deadLetters");
    for (DeadLetters.Entry e : deadLetters.list(kind, destination, 200)) {
      ObjectNode n = message(e.frame());
      n.put("id", e.id());
      n.put("error", e.frame().headers().getOrDefault(DeadLetter.ERROR, ""));
      String deliveries = e.frame().headers().get(DeadLetter.DELIVERIES);
      if (deliveries != null) {
        n.put("attempts", deliveries);
      }
      arr.add(n);
    }
    return out;
  }

  /** The decoded envelope: headers, correlation id, payload as pretty JSON, text or hex. */
  static ObjectNode message(Frame f) {
    ObjectNode n = JSON.createObjectNode();
    ObjectNode h = n.putObject("headers");
    f.headers().forEach(h::put);
    String cid = f.headers().get("correlation_id");
    n.put("correlationId", cid != null ? cid : f.headers().getOrDefault("correlation-id", ""));
    byte[] p = f.payload();
    String text = utf8(p);
    if (text != null) {
      try {
        JsonNode json = JSON.readTree(text);
        if (json != null && (json.isObject() || json.isArray())) {
          n.put("format", "json");
          n.put("payload", PRETTY.writeValueAsString(json));
          return n;
        }
      } catch (IOException e) {
        // not JSON: text
      }
      n.put("format", "text");
      n.put("payload", text);
    } else {
      n.put("format", "hex");
      n.put("payload", HexFormat.ofDelimiter(" ").formatHex(p, 0, Math.min(p.length, 4096)));
    }
    return n;
  }

  private static String utf8(byte[] p) {
    try {
      String s = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(p)).toString();
      return s.chars().anyMatch(c -> c < 0x20 && c != '\n' && c != '\r' && c != '\t') ? null : s;
    } catch (java.nio.charset.CharacterCodingException e) {
      return null;
    }
  }

  private void asset(HttpExchange ex, String name, String type) throws IOException {
    try (InputStream in = BrookConsole.class.getResourceAsStream(name)) {
      if (in == null) {
        send(ex, 500, error("The console's " + name + " is missing from the jar."));
        return;
      }
      byte[] body = in.readAllBytes();
      ex.getResponseHeaders().set("Content-Type", type);
      ex.getResponseHeaders().set("Cache-Control", "no-store");
      ex.getResponseHeaders().set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'");
      ex.sendResponseHeaders(200, body.length);
      ex.getResponseBody().write(body);
    }
  }

  private static void send(HttpExchange ex, int status, JsonNode body) throws IOException {
    byte[] bytes = JSON.writeValueAsBytes(body);
    ex.getResponseHeaders().set("Content-Type", "application/json");
    ex.getResponseHeaders().set("Cache-Control", "no-store");
    ex.sendResponseHeaders(status, bytes.length);
    ex.getResponseBody().write(bytes);
  }

  private static ObjectNode error(String message) {
    ObjectNode n = JSON.createObjectNode();
    n.put("error", message);
    return n;
  }

  private static Map<String, String> query(String raw) {
    Map<String, String> q = new HashMap<>();
    if (raw != null) {
      for (String part : raw.split("&")) {
        int eq = part.indexOf('=');
        if (eq > 0) {
          q.put(URLDecoder.decode(part.substring(0, eq), StandardCharsets.UTF_8),
              URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8));
        }
      }
    }
    return q;
  }

  private static String need(Map<String, String> q, String name) {
    String v = q.get(name);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException("Missing parameter '" + name + "'.");
    }
    return v;
  }

  private static String need(JsonNode body, String name) {
    String v = opt(body, name);
    if (v == null || v.isEmpty()) {
      throw new IllegalArgumentException("Missing field '" + name + "' in the request body.");
    }
    return v;
  }

  private static String opt(JsonNode body, String name) {
    JsonNode v = body.get(name);
    return v == null || v.isNull() ? null : v.asText();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Closes the Redis connection and client. */
  @Override
  public void close() {
    try {
      connection.close();
    } finally {
      client.shutdown();
    }
  }
}
