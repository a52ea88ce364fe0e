package dev.brook.console;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import dev.brook.redis.DeadLetters;
import dev.brook.redis.Redis;
import dev.brook.redis.RedisBroker;
import dev.brook.redis.internal.Announcer;
import dev.brook.redis.internal.DeadLetter;
import dev.brook.redis.internal.Delayed;
import dev.brook.redis.internal.Envelope;
import dev.brook.redis.internal.Keys;
import dev.brook.redis.internal.RedisTransport;
import dev.brook.spi.Frame;
import io.lettuce.core.Range;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanIterator;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
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
 * announces it (the broker obeys within a second); promote a delayed job now; publish a message
 * (its JSON syntax checked, and its payload against the JSON schema of the destination's messages
 * when an {@link Builder#asyncApi AsyncAPI document} describes it).
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

  private static final String DATA = "__data__";

  /** The broker whose connection the console uses: its own (closed with it) or the caller's. */
  private final RedisBroker broker;
  private final boolean ownsBroker;
  private final RedisTransport transport;
  private final boolean readOnly;
  private final String token;
  private final Documented documented;

  private BrookConsole(Builder b) {
    Documented docs = Documented.parse(b.asyncApi); // before connecting: a bad document fails fast
    this.ownsBroker = b.broker == null;
    this.broker = ownsBroker
        ? RedisBroker.builder().url(b.url).clientName("brook-console").announce(false).accessLog(false).build()
        : b.broker;
    try {
      if (!(dev.brook.spi.Brokers.transport(broker) instanceof RedisTransport transport)) {
        throw new IllegalArgumentException("The Brook console needs a RedisBroker on a real Redis, not " + broker
            + " (a test broker keeps nothing in Redis to show).");
      }
      this.transport = transport;
      if (ownsBroker) {
        transport.connect(); // brook console: an unreachable Redis fails at start
      }
    } catch (RuntimeException e) {
      if (ownsBroker) {
        broker.close();
      }
      throw e;
    }
    this.readOnly = b.readOnly;
    this.token = b.token;
    this.documented = docs;
  }

  /**
   * The broker's command connection, connecting first if it never did (an embedding application's
   * broker may connect after the console is built). On a cluster Lettuce routes each command by
   * its key and SCANs every master.
   */
  private RedisClusterCommands<byte[], byte[]> redis() {
    transport.connect();
    return transport.connections().syncCommands();
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
    private RedisBroker broker;
    private boolean readOnly;
    private String token;
    private final List<String> asyncApi = new java.util.ArrayList<>();

    private Builder() {}

    /**
     * An AsyncAPI 3 document (JSON, as {@code brook docs gen} or {@code AsyncApi.of(app).toJson()}
     * writes it) describing some destinations: a payload published from the console to one of them
     * must match one of its messages' JSON schemas, or the publish answers 400 naming the failing
     * fields. Call once per service; destinations no document describes are checked for JSON syntax only.
     *
     * @throws IllegalArgumentException from {@link #build()} when it is not an AsyncAPI 3 JSON document
     */
    public Builder asyncApi(String json) {
      this.asyncApi.add(java.util.Objects.requireNonNull(json, "json"));
      return this;
    }

    /**
     * The Redis to show, as {@link RedisBroker} takes it: {@code redis://[user:password@]host:port/db},
     * {@code redis-cluster://host:port[,host:port…]} or {@code redis-sentinel://host:port[,…]/db#master}.
     * The console opens a broker of its own on it (not announced, no subscription) and closes it with
     * {@link #close()}.
     */
    public Builder url(String url) {
      this.url = java.util.Objects.requireNonNull(url, "url");
      this.broker = null;
      return this;
    }

    /**
     * Show the Redis of this broker, through its command connection, instead of opening one: for a
     * console embedded in a service (the Spring Boot starter does this). The console connects it,
     * if it has not connected yet, at its first request, so building the console needs no Redis.
     * The broker stays the caller's: {@link #close()} leaves it open, and it must outlive the console.
     */
    public Builder broker(RedisBroker broker) {
      this.broker = java.util.Objects.requireNonNull(broker, "broker");
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

    /**
     * Builds the console; with {@link #url} it opens its broker and connects, with {@link #broker} it
     * connects at the first request.
     *
     * @throws dev.brook.BrookException when the URL's Redis cannot be reached
     * @throws IllegalArgumentException when an {@link #asyncApi} document is not AsyncAPI 3 JSON
     */
    public BrookConsole build() {
      return new BrookConsole(this);
    }
  }

  /**
   * One HTTP request to the console, for a server other than the JDK's (the Spring Boot starter
   * mounts the console with it): {@code contextPath} is where the console is mounted ({@code
   * /brook/console}), {@code path} the request's whole path, {@code rawQuery} its query string (or
   * null), {@code authorization} its {@code Authorization} header (or null), {@code loopback}
   * whether it arrived on a loopback address of this host, {@code body} the request body.
   */
  public record Request(String method, String contextPath, String path, String rawQuery, String authorization,
      boolean loopback, byte[] body) {}

  /** The console's answer to a {@link Request}: status, headers to set, body (empty for none). */
  public record Response(int status, Map<String, String> headers, byte[] body) {}

  @Override
  public void handle(HttpExchange ex) throws IOException {
    try (ex) {
      byte[] body = "POST".equals(ex.getRequestMethod()) ? ex.getRequestBody().readAllBytes() : new byte[0];
      Response r = respond(new Request(ex.getRequestMethod(), ex.getHttpContext().getPath(), ex.getRequestURI().getPath(),
          ex.getRequestURI().getRawQuery(), ex.getRequestHeaders().getFirst("Authorization"),
          ex.getLocalAddress().getAddress().isLoopbackAddress(), body));
      r.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
      ex.sendResponseHeaders(r.status(), r.body().length == 0 ? -1 : r.body().length);
      if (r.body().length > 0) {
        ex.getResponseBody().write(r.body());
      }
    }
  }

  /**
   * Answers one request: the page and its assets, a view (GET) or an action (POST). The JDK handler
   * and the Spring Boot endpoint both come here, so they answer alike. Thread-safe.
   */
  public Response respond(Request request) {
    String path = request.path();
    String context = request.contextPath();
    String rel = path.substring(Math.min(path.length(), context.endsWith("/") ? context.length() - 1 : context.length()));
    if (rel.isEmpty()) {
      return new Response(302, Map.of("Location", path + "/"), new byte[0]);
    }
    switch (rel) {
      case "/" -> {
        return asset("console.html", "text/html; charset=utf-8");
      }
      case "/console.js" -> {
        return asset("console.js", "text/javascript; charset=utf-8");
      }
      case "/console.css" -> {
        return asset("console.css", "text/css; charset=utf-8");
      }
      default -> {
        // an API call, below
      }
    }
    if (!rel.startsWith("/api/")) {
      return json(404, error("No such page: " + rel));
    }
    String api = rel.substring(5);
    Map<String, String> q = query(request.rawQuery());
    try {
      if ("GET".equals(request.method())) {
        return switch (api) {
          case "overview" -> json(200, overview());
          case "brokers" -> json(200, brokers());
          case "deadletters" -> json(200, deadLetterView(need(q, "kind"), need(q, "destination")));
          case "delayed" -> json(200, delayedView(need(q, "kind"), need(q, "destination")));
          case "schedules" -> json(200, schedules());
          default -> json(404, error("No such view: " + api));
        };
      }
      if (!"POST".equals(request.method())) {
        return json(405, error("Use GET for views and POST for actions."));
      }
      String refusal = refusal(request);
      if (refusal != null) {
        return json(403, error(refusal));
      }
      JsonNode body;
      try {
        body = request.body() == null || request.body().length == 0 ? null : JSON.readTree(request.body());
      } catch (IOException e) {
        throw new IllegalArgumentException("The request body is not JSON: " + e.getMessage());
      }
      if (body == null || body.isMissingNode()) {
        body = JSON.createObjectNode();
      }
      return json(200, action(api, body));
    } catch (IllegalArgumentException e) {
      return json(400, error(e.getMessage()));
    } catch (RuntimeException e) {
      return json(500, error(e.toString()));
    }
  }

  /** Why this action is refused, or null. */
  private String refusal(Request request) {
    if (readOnly) {
      return "This console is read-only (--read-only): actions are refused.";
    }
    String auth = request.authorization();
    if (token != null) {
      String given = auth != null && auth.startsWith("Bearer ") ? auth.substring(7) : "";
      if (!MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), token.getBytes(StandardCharsets.UTF_8))) {
        return "This action needs the console's token: send Authorization: Bearer <token>.";
      }
      return null;
    }
    if (!request.loopback()) {
      return "This console listens beyond loopback without a token, so it refuses actions: start it with --token.";
    }
    return null;
  }

  private ObjectNode action(String api, JsonNode body) {
    ObjectNode out = JSON.createObjectNode();
    switch (api) {
      case "replay" -> out.put("replayed", replay(deadLetters(need(body, "kind"), need(body, "destination")),
          opt(body, "id"), opt(body, "header"), opt(body, "value")));
      case "delete" -> out.put("deleted", deadLetters(need(body, "kind"), need(body, "destination")).delete(need(body, "id")));
      case "purge" -> out.put("purged", deadLetters(need(body, "kind"), need(body, "destination")).purge());
      case "pause", "resume" -> out.put("brokers", control(api, need(body, "subscription")));
      case "promote" -> out.put("promoted", promote(need(body, "kind"), need(body, "destination"), need(body, "id")));
      case "publish" -> {
        publish(need(body, "kind"), need(body, "destination"), need(body, "payload"), body.get("headers"));
        out.put("published", true);
      }
      default -> throw new IllegalArgumentException("No such action: " + api
          + " (replay, delete, purge, pause, resume, promote, publish).");
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
          redis().rpush(key, bytes(verb + " " + subscription));
          redis().pexpire(key, Announcer.TTL_MS * 2); // a dead broker's commands go away with it
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
    documented.check(kind, destination, payload);
    boolean json = trimmed.startsWith("{") || trimmed.startsWith("[")
        || documented.messages(kind, destination).stream().anyMatch(m -> m.contentType().contains("json"));
    Map<String, String> headers = new LinkedHashMap<>();
    headers.put("content-type", json ? "application/json" : "text/plain");
    if (headerNode != null) {
      headerNode.fields().forEachRemaining(e -> headers.put(e.getKey(), e.getValue().asText()));
    }
    byte[] envelope = Envelope.encode(headers, bytes);
    switch (kind) {
      case "list" -> redis().rpush(bytes(destination), envelope);
      case "stream" -> redis().xadd(bytes(destination), Map.of(bytes(DATA), envelope));
      case "channel" -> redis().publish(bytes(destination), envelope);
      default -> throw new IllegalArgumentException("Cannot publish to kind '" + kind + "' (list, stream, channel).");
    }
  }

  /** Live announcements (pruning the index of expired ones). */
  private List<JsonNode> announcements() {
    long now = System.currentTimeMillis();
    byte[] index = bytes(Announcer.INDEX);
    redis().zremrangebyscore(index, Range.create(Double.NEGATIVE_INFINITY, (double) now));
    List<JsonNode> out = new java.util.ArrayList<>();
    for (byte[] id : redis().zrangebyscore(index, Range.create((double) now, Double.POSITIVE_INFINITY))) {
      byte[] value = redis().get(bytes(Announcer.key(new String(id, StandardCharsets.UTF_8))));
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
        ObjectNode d = destinationNode(dests, kind, name);
        ((ArrayNode) d.get("subscriptions")).add(s.path("id").asText() + "@" + b.path("app").asText());
        for (String f : List.of("received", "handled", "failed", "rejected")) {
          d.put(f, d.path(f).asLong() + s.path(f).asLong());
        }
        // A partitioned stream keeps its entries, pending entries, dead letters and delayed jobs in
        // one plain stream per partition, {name:i}: each is listed too, so that its backlog shows
        // and every action (replay, promote, publish) works on it as on any stream.
        int partitions = s.path("partitions").asInt(0);
        if (partitions > 1) {
          d.put("partitions", partitions);
          for (int i = 0; i < partitions; i++) {
            String key = "{" + name + ":" + i + "}";
            ObjectNode p = destinationNode(dests, kind, key);
            p.put("partitionOf", name);
            p.put("partition", i);
          }
        }
      }
    }
    out.set("schedules", schedules().get("schedules"));
    ArrayNode da = out.putArray("destinations");
    for (ObjectNode d : dests.values()) {
      List<Documented.Message> messages = documented.messages(d.path("kind").asText(), d.path("name").asText());
      if (!messages.isEmpty()) {
        ArrayNode names = d.putArray("messages");
        messages.forEach(m -> names.add(m.name()));
      }
      try {
        backlog(d);
      } catch (RuntimeException e) {
        d.put("error", e.toString());
      }
      da.add(d);
    }
    return out;
  }

  /** The overview's entry of a destination, created empty at first sight. */
  private static ObjectNode destinationNode(Map<String, ObjectNode> dests, String kind, String name) {
    return dests.computeIfAbsent(kind + ":" + name, k -> {
      ObjectNode n = JSON.createObjectNode();
      n.put("kind", kind);
      n.put("name", name);
      n.putArray("subscriptions");
      return n;
    });
  }

  private void backlog(ObjectNode d) {
    String kind = d.path("kind").asText();
    String name = d.path("name").asText();
    byte[] key = bytes(name);
    if (kind.equals("stream") && d.path("partitions").asInt(0) > 1) {
      // The plain name holds nothing: the sums of its partitions, each listed on its own.
      long length = 0;
      long dead = 0;
      long delayed = 0;
      for (int i = 0; i < d.path("partitions").asInt(); i++) {
        String partition = "{" + name + ":" + i + "}";
        length += redis().xlen(bytes(partition));
        dead += deadLetters(kind, partition).count();
        delayed += redis().zcard(bytes(Delayed.key(partition)));
      }
      d.put("length", length);
      d.put("deadLetters", dead);
      d.put("delayed", delayed);
      d.putArray("groups");
    } else if (kind.equals("stream")) {
      d.put("length", redis().xlen(key));
      d.put("deadLetters", deadLetters(kind, name).count());
      d.put("delayed", redis().zcard(bytes(Delayed.key(name))));
      ArrayNode groups = d.putArray("groups");
      if (redis().exists(key) == 0) {
        return;
      }
      for (Object g : redis().xinfoGroups(key)) {
        ObjectNode gn = flat(g);
        groups.add(gn);
        String group = gn.path("name").asText();
        ArrayNode consumers = gn.putArray("consumers");
        for (Object c : redis().xinfoConsumers(key, bytes(group))) {
          consumers.add(flat(c));
        }
        ArrayNode pending = gn.putArray("pendingEntries");
        for (var p : redis().xpending(key, bytes(group),
            Range.create("-", "+"), io.lettuce.core.Limit.from(20))) {
          ObjectNode pn = pending.addObject();
          pn.put("id", p.getId());
          pn.put("consumer", String.valueOf(p.getConsumer()));
          pn.put("idleMs", p.getMsSinceLastDelivery());
          pn.put("deliveries", p.getRedeliveryCount());
        }
      }
    } else if (kind.equals("list")) {
      d.put("length", redis().llen(key));
      d.put("deadLetters", deadLetters(kind, name).count());
      d.put("delayed", redis().zcard(bytes(Delayed.key(name))));
      ArrayNode processing = d.putArray("processing");
      String prefix = Keys.derived(name, "processing:");
      ScanIterator<byte[]> it = ScanIterator.scan(redis(), ScanArgs.Builder.matches(glob(prefix) + "*").limit(500));
      while (it.hasNext()) {
        byte[] k = it.next();
        ObjectNode pn = processing.addObject();
        pn.put("consumer", new String(k, StandardCharsets.UTF_8).substring(prefix.length()));
        pn.put("length", redis().llen(k));
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

  /** The dead letters of a list or stream, through Brook's public API. */
  private DeadLetters deadLetters(String kind, String destination) {
    return switch (kind) {
      case "list" -> broker.deadLetters(Redis.list(destination));
      case "stream" -> broker.deadLetters(Redis.stream(destination));
      default -> throw new IllegalArgumentException("Only lists and streams have dead letters, not kind '" + kind + "'.");
    };
  }

  /** The one with this id, or all (those whose header {@code header} equals {@code value}, when given). */
  private static int replay(DeadLetters dead, String id, String header, String value) {
    if (id != null) {
      return dead.replay(id) ? 1 : 0;
    }
    if (header == null || header.isEmpty()) {
      return dead.replayAll();
    }
    return dead.replay(h -> java.util.Objects.equals(h.get(header), value));
  }

  private ObjectNode deadLetterView(String kind, String destination) {
    DeadLetters dead = deadLetters(kind, destination);
    ObjectNode out = JSON.createObjectNode();
    out.put("kind", kind);
    out.put("destination", destination);
    out.put("key", Keys.derived(destination, "dlq"));
    out.put("count", dead.count());
    ArrayNode arr = out.putArray("deadLetters");
    for (DeadLetters.Entry e : dead.list(200)) {
      ObjectNode n = message(e.headers(), e.payload());
      n.put("id", e.id());
      n.put("error", e.error());
      if (e.headers().containsKey(DeadLetter.DELIVERIES)) {
        n.put("attempts", e.attempts());
      }
      arr.add(n);
    }
    return out;
  }

  /**
   * The first 200 delayed jobs of a list or stream ({@code {name}:delayed}), earliest first: due
   * time, decoded envelope, and an id ({@code <due ms>-<hex of the member's prefix>}) for promote.
   */
  private ObjectNode delayedView(String kind, String destination) {
    kindChar(kind);
    byte[] key = bytes(Delayed.key(destination));
    ObjectNode out = JSON.createObjectNode();
    out.put("kind", kind);
    out.put("destination", destination);
    out.put("key", Delayed.key(destination));
    out.put("count", redis().zcard(key));
    out.put("now", System.currentTimeMillis());
    ArrayNode arr = out.putArray("delayed");
    for (ScoredValue<byte[]> m : redis().zrangeWithScores(key, 0, 199)) {
      byte[] member = m.getValue();
      if (member.length < Delayed.PREFIX) {
        continue; // not written by Brook
      }
      long due = (long) m.getScore();
      ObjectNode n = message(Envelope.decode(Delayed.value(member)));
      n.put("id", due + "-" + HexFormat.of().formatHex(member, 0, Delayed.PREFIX));
      n.put("dueAt", due);
      String deliveries = n.path("headers").path("x-deliveries").asText(null);
      if (deliveries != null) {
        n.put("attempts", deliveries); // a nacked list job waiting for its retry
      }
      arr.add(n);
    }
    return out;
  }

  /** Moves one delayed job to its destination now (one script, so it is promoted once). */
  private boolean promote(String kind, String destination, String id) {
    char k = kindChar(kind);
    int dash = id.indexOf('-');
    long due;
    byte[] prefix;
    try {
      due = Long.parseLong(id.substring(0, Math.max(0, dash)));
      prefix = HexFormat.of().parseHex(id.substring(dash + 1));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("Not a delayed job id: '" + id + "' (expected <due ms>-<32 hex digits>, "
          + "as api/delayed lists them).");
    }
    if (prefix.length != Delayed.PREFIX) {
      throw new IllegalArgumentException("Not a delayed job id: '" + id + "' (expected <due ms>-<32 hex digits>).");
    }
    // A stream is trimmed as its consumers trim when they promote: to the largest maxLen a live
    // broker announces for it (none announced: not trimmed).
    long maxLen = 0;
    if (k == 's') {
      for (JsonNode b : announcements()) {
        for (JsonNode sub : b.path("subscriptions")) {
          if ("stream".equals(sub.path("kind").asText()) && destination.equals(sub.path("destination").asText())) {
            maxLen = Math.max(maxLen, sub.path("maxLen").asLong(0));
          }
        }
      }
    }
    return Delayed.promoteNow(redis(), destination, k, maxLen, due, prefix);
  }

  private static char kindChar(String kind) {
    return switch (kind) {
      case "list" -> 'l';
      case "stream" -> 's';
      default -> throw new IllegalArgumentException("Only lists and streams have delayed jobs, not kind '" + kind + "'.");
    };
  }

  /** The schedules that ever ticked on this Redis ({@code {brook:schedule:<name>}:last}): name, last tick. */
  private ObjectNode schedules() {
    ObjectNode out = JSON.createObjectNode();
    ArrayNode arr = out.putArray("schedules");
    String prefix = "{brook:schedule:";
    String suffix = "}:last";
    Map<String, ObjectNode> byName = new TreeMap<>();
    ScanIterator<byte[]> it = ScanIterator.scan(redis(), ScanArgs.Builder.matches(glob(prefix) + "*" + glob(suffix)).limit(500));
    while (it.hasNext()) {
      byte[] k = it.next();
      String key = new String(k, StandardCharsets.UTF_8);
      if (!key.startsWith(prefix) || !key.endsWith(suffix)) {
        continue;
      }
      ObjectNode n = JSON.createObjectNode();
      n.put("name", key.substring(prefix.length(), key.length() - suffix.length()));
      n.put("key", key);
      byte[] v = redis().get(k);
      try {
        long tick = Long.parseLong(new String(v == null ? new byte[0] : v, StandardCharsets.UTF_8).strip());
        n.put("lastTick", tick);
        n.put("lastTickIso", java.time.Instant.ofEpochMilli(tick).toString());
      } catch (NumberFormatException e) {
        n.putNull("lastTick");
      }
      byName.put(n.get("name").asText(), n);
    }
    byName.values().forEach(arr::add);
    return out;
  }

  /** The decoded envelope: headers, correlation id, payload as pretty JSON, text or hex. */
  static ObjectNode message(Frame f) {
    return message(f.headers(), f.payload());
  }

  static ObjectNode message(Map<String, String> headers, byte[] p) {
    ObjectNode n = JSON.createObjectNode();
    ObjectNode h = n.putObject("headers");
    new TreeMap<>(headers).forEach(h::put);
    String cid = headers.get("correlation_id");
    n.put("correlationId", cid != null ? cid : headers.getOrDefault("correlation-id", ""));
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

  private static Response asset(String name, String type) {
    try (InputStream in = BrookConsole.class.getResourceAsStream(name)) {
      if (in == null) {
        return json(500, error("The console's " + name + " is missing from the jar."));
      }
      return new Response(200, Map.of("Content-Type", type, "Cache-Control", "no-store",
          "Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'"), in.readAllBytes());
    } catch (IOException e) {
      return json(500, error("Cannot read the console's " + name + ": " + e));
    }
  }

  private static Response json(int status, JsonNode body) {
    try {
      return new Response(status, Map.of("Content-Type", "application/json", "Cache-Control", "no-store"),
          JSON.writeValueAsBytes(body));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
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

  /** Closes the console's own broker (its connection and threads); a broker given to the builder stays open. */
  @Override
  public void close() {
    if (ownsBroker) {
      broker.close();
    }
  }
}
