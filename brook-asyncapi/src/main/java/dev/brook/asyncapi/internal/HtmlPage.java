package dev.brook.asyncapi.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders an AsyncAPI 3 document as one HTML page that needs nothing else: CSS and a few lines of
 * script (the channel filter) are inline, nothing is fetched, and every piece of content is plain
 * HTML, so the page reads fine with script off and in a text browser.
 *
 * <p>Layout: a header (title, version, description), a side index (servers, channels, messages,
 * schemas), then servers; every channel with its operations and messages (payload schema as a
 * table of fields, headers, example); every schema of {@code components.schemas}; and the raw
 * JSON. Every text from the document is HTML-escaped; a channel named {@code <script>} is shown,
 * never run.
 *
 * <p>Works from the document alone (not from a broker), so {@code brook docs serve file.json} renders
 * documents written earlier. Not thread-safe; one instance per page.
 */
final class HtmlPage {

  private static final Pattern CODE = Pattern.compile("`([^`]+)`");
  private static final Pattern PARAM = Pattern.compile("\\{([^}]+)}");
  private static final ObjectWriter EXAMPLE = new ObjectMapper().writer(new DefaultPrettyPrinter()
      .withArrayIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE)
      .withSeparators(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER)));

  private final JsonNode doc;
  private final String rawJson;
  private final StringBuilder out = new StringBuilder(32 * 1024);

  HtmlPage(JsonNode doc, String rawJson) {
    this.doc = doc;
    this.rawJson = rawJson;
  }

  String render() {
    JsonNode info = doc.path("info");
    String title = info.path("title").asText("AsyncAPI");
    out.append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        .append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        .append("<meta name=\"generator\" content=\"Brook AsyncAPI\">\n")
        .append("<title>").append(esc(title)).append(" ").append(esc(info.path("version").asText(""))).append(" · AsyncAPI</title>\n")
        .append("<style>").append(CSS).append("</style>\n</head>\n<body>\n");
    header(info);
    out.append("<div class=\"layout\">\n");
    sideIndex();
    out.append("<main>\n");
    servers();
    channels();
    schemas();
    out.append("<section id=\"raw\"><h2>Document</h2><details><summary>The AsyncAPI ")
        .append(esc(doc.path("asyncapi").asText())).append(" document as JSON</summary><pre class=\"code\">")
        .append(esc(rawJson)).append("</pre></details></section>\n");
    out.append("</main>\n</div>\n<script>").append(SCRIPT).append("</script>\n</body>\n</html>\n");
    return out.toString();
  }

  // --------------------------------------------------------------------------------------- sections

  private void header(JsonNode info) {
    out.append("<header class=\"top\"><div class=\"title\"><h1>").append(esc(info.path("title").asText("")))
        .append("</h1><span class=\"tag version\">v").append(esc(info.path("version").asText("")))
        .append("</span><span class=\"tag spec\">AsyncAPI ").append(esc(doc.path("asyncapi").asText())).append("</span>");
    if (doc.has("defaultContentType")) {
      out.append("<span class=\"tag\">").append(esc(doc.get("defaultContentType").asText())).append("</span>");
    }
    out.append("</div>");
    if (info.has("description")) {
      out.append("<p class=\"lead\">").append(text(info.get("description").asText())).append("</p>");
    }
    out.append("</header>\n");
  }

  private void sideIndex() {
    out.append("<nav class=\"side\" aria-label=\"Index\">\n<input id=\"filter\" type=\"search\" placeholder=\"Filter channels\" aria-label=\"Filter channels\">\n");
    if (!doc.path("servers").isEmpty()) {
      out.append("<h3>Servers</h3><ul>");
      for (Map.Entry<String, JsonNode> s : doc.path("servers").properties()) {
        out.append("<li><a href=\"#server-").append(esc(s.getKey())).append("\">").append(esc(s.getKey())).append("</a></li>");
      }
      out.append("</ul>\n");
    }
    out.append("<h3>Channels</h3><ul>");
    for (Map.Entry<String, JsonNode> c : doc.path("channels").properties()) {
      String kind = binding(c.getValue()).path("kind").asText("channel");
      String label = addressOf(c.getValue()) != null ? addressOf(c.getValue()) : c.getKey();
      out.append("<li class=\"nav-channel\" data-name=\"").append(esc(searchKey(c.getKey(), c.getValue()))).append("\"><a href=\"#channel-")
          .append(esc(c.getKey())).append("\" title=\"").append(esc(label)).append("\"><span class=\"kind kind-").append(esc(kind))
          .append("\">").append(esc(kind)).append("</span> ").append(esc(label)).append("</a></li>");
    }
    out.append("</ul>\n");
    if (!doc.path("components").path("schemas").isEmpty()) {
      out.append("<h3>Schemas</h3><ul>");
      for (Map.Entry<String, JsonNode> s : doc.path("components").path("schemas").properties()) {
        out.append("<li><a href=\"#schema-").append(esc(s.getKey())).append("\">").append(esc(s.getKey())).append("</a></li>");
      }
      out.append("</ul>\n");
    }
    out.append("</nav>\n");
  }

  private void servers() {
    if (doc.path("servers").isEmpty()) {
      return;
    }
    out.append("<section id=\"servers\"><h2>Servers</h2>\n");
    for (Map.Entry<String, JsonNode> s : doc.path("servers").properties()) {
      JsonNode server = s.getValue();
      out.append("<article class=\"card server\" id=\"server-").append(esc(s.getKey())).append("\"><h3>")
          .append(esc(s.getKey())).append(" <span class=\"tag proto\">").append(esc(server.path("protocol").asText()))
          .append("</span></h3><dl class=\"facts\"><dt>host</dt><dd><code>").append(esc(server.path("host").asText())).append("</code></dd>");
      if (server.has("pathname")) {
        out.append("<dt>pathname</dt><dd><code>").append(esc(server.get("pathname").asText())).append("</code></dd>");
      }
      out.append("</dl>");
      if (server.has("description")) {
        out.append("<p>").append(text(server.get("description").asText())).append("</p>");
      }
      out.append("</article>\n");
    }
    out.append("</section>\n");
  }

  private void channels() {
    out.append("<section id=\"channels\"><h2>Channels</h2>\n");
    if (doc.path("channels").isEmpty()) {
      out.append("<p class=\"empty\">Nothing is registered on this broker.</p>");
    }
    for (Map.Entry<String, JsonNode> c : doc.path("channels").properties()) {
      channel(c.getKey(), c.getValue());
    }
    out.append("</section>\n");
  }

  private void channel(String id, JsonNode channel) {
    JsonNode binding = binding(channel);
    String kind = binding.path("kind").asText("channel");
    out.append("<article class=\"card channel\" id=\"channel-").append(esc(id)).append("\" data-name=\"")
        .append(esc(searchKey(id, channel))).append("\">\n<h3><span class=\"kind kind-").append(esc(kind)).append("\">")
        .append(esc(kind)).append("</span> ");
    String address = addressOf(channel);
    if (address != null) {
      out.append("<code class=\"address\">").append(address(address)).append("</code>");
    } else {
      out.append(esc(channel.path("title").asText(id))).append(" <span class=\"tag\">address set at run time</span>");
    }
    if (binding.has("groupName")) {
      out.append(" <span class=\"tag\">group ").append(esc(binding.get("groupName").asText())).append("</span>");
    }
    out.append("</h3>\n");
    if (channel.has("description")) {
      out.append("<p>").append(text(channel.get("description").asText())).append("</p>\n");
    }
    bindings(binding, "kind", "bindingVersion");
    if (channel.has("parameters")) {
      out.append("<h4>Parameters</h4><table class=\"fields\"><thead><tr><th>name</th><th>meaning</th></tr></thead><tbody>");
      for (Map.Entry<String, JsonNode> p : channel.get("parameters").properties()) {
        out.append("<tr><td><code>{").append(esc(p.getKey())).append("}</code></td><td>")
            .append(text(p.getValue().path("description").asText(""))).append("</td></tr>");
      }
      out.append("</tbody></table>\n");
    }
    List<Map.Entry<String, JsonNode>> ops = new ArrayList<>();
    for (Map.Entry<String, JsonNode> op : doc.path("operations").properties()) {
      if (op.getValue().path("channel").path("$ref").asText().equals("#/channels/" + id)) {
        ops.add(op);
      }
    }
    if (!ops.isEmpty()) {
      out.append("<h4>Operations</h4>\n");
      for (Map.Entry<String, JsonNode> op : ops) {
        operation(op.getKey(), op.getValue());
      }
    }
    out.append("<h4>Messages</h4>\n");
    for (Map.Entry<String, JsonNode> m : channel.path("messages").properties()) {
      JsonNode message = resolve(m.getValue());
      message(message == null ? m.getValue() : message, m.getKey());
    }
    out.append("</article>\n");
  }

  private void operation(String id, JsonNode op) {
    String action = op.path("action").asText();
    out.append("<div class=\"op op-").append(esc(action)).append("\" id=\"operation-").append(esc(id)).append("\">")
        .append("<span class=\"action\">").append(esc(action.toUpperCase(java.util.Locale.ROOT))).append("</span> <b>")
        .append(esc(op.path("title").asText(id))).append("</b>");
    if (op.has("summary")) {
      out.append(" <span class=\"summary\">").append(text(op.get("summary").asText())).append("</span>");
    }
    if (op.has("description")) {
      out.append("<p>").append(text(op.get("description").asText())).append("</p>");
    }
    bindings(binding(op), "bindingVersion");
    JsonNode reply = op.path("reply");
    if (!reply.isMissingNode()) {
      out.append("<p class=\"reply\">Replies");
      String location = reply.path("address").path("location").asText("");
      if (location.startsWith("$message.header#/")) {
        out.append(" to the channel named in the header <code>").append(esc(location.substring("$message.header#/".length()))).append("</code>");
      }
      List<String> names = new ArrayList<>();
      for (JsonNode ref : reply.path("messages")) {
        String r = ref.path("$ref").asText();
        names.add("<code>" + esc(r.substring(r.lastIndexOf('/') + 1)) + "</code>");
      }
      if (!names.isEmpty()) {
        out.append(" with ").append(String.join(", ", names));
      }
      out.append(".</p>");
    }
    out.append("</div>\n");
  }

  /**
   * The node's bindings for its server's protocol ({@code bindings.redis} in Brook's documents): the
   * first, since Brook writes one; missing when there is none.
   */
  private static JsonNode binding(JsonNode node) {
    var all = node.path("bindings").properties().iterator();
    return all.hasNext() ? all.next().getValue() : com.fasterxml.jackson.databind.node.MissingNode.getInstance();
  }

  private void bindings(JsonNode binding, String... skip) {
    List<String> skipped = List.of(skip);
    StringBuilder facts = new StringBuilder();
    for (Map.Entry<String, JsonNode> b : binding.properties()) {
      if (!skipped.contains(b.getKey())) {
        facts.append("<dt>").append(esc(b.getKey())).append("</dt><dd><code>").append(esc(b.getValue().asText())).append("</code></dd>");
      }
    }
    if (!facts.isEmpty()) {
      out.append("<dl class=\"facts\">").append(facts).append("</dl>\n");
    }
  }

  private void message(JsonNode message, String key) {
    out.append("<div class=\"message\"><h5>").append(esc(message.path("title").asText(message.path("name").asText(key))));
    if (message.has("contentType")) {
      out.append(" <span class=\"tag ct\">").append(esc(message.get("contentType").asText())).append("</span>");
    }
    out.append("</h5>");
    if (message.has("summary")) {
      out.append("<p class=\"muted\">").append(text(message.get("summary").asText())).append("</p>");
    }
    out.append("<div class=\"payload\"><h6>Payload</h6>");
    schemaBody(message.path("payload"));
    out.append("</div>");
    if (message.has("headers")) {
      out.append("<details class=\"headers\"><summary>Headers</summary>");
      schemaBody(message.get("headers"));
      out.append("</details>");
    }
    for (JsonNode example : message.path("examples")) {
      out.append("<div class=\"example\"><h6>Example</h6>");
      if (example.has("summary")) {
        out.append("<p class=\"muted\">").append(text(example.get("summary").asText())).append("</p>");
      }
      if (example.has("payload")) {
        out.append("<div class=\"label\">payload</div><pre class=\"code\">").append(esc(pretty(example.get("payload")))).append("</pre>");
      }
      if (example.has("headers")) {
        out.append("<div class=\"label\">headers</div><pre class=\"code\">").append(esc(pretty(example.get("headers")))).append("</pre>");
      }
      out.append("</div>");
    }
    out.append("</div>\n");
  }

  private void schemas() {
    JsonNode schemas = doc.path("components").path("schemas");
    if (schemas.isEmpty()) {
      return;
    }
    out.append("<section id=\"schemas\"><h2>Schemas</h2>\n");
    for (Map.Entry<String, JsonNode> s : schemas.properties()) {
      out.append("<article class=\"card schema\" id=\"schema-").append(esc(s.getKey())).append("\"><h3>").append(esc(s.getKey())).append("</h3>");
      if (s.getValue().has("description")) {
        out.append("<p>").append(text(s.getValue().get("description").asText())).append("</p>");
      }
      schemaBody(s.getValue());
      out.append("</article>\n");
    }
    out.append("</section>\n");
  }

  // ---------------------------------------------------------------------------------------- schemas

  /**
   * An object schema (or a reference to one) as a table of its fields; anything else as one line
   * with its type and constraints.
   */
  private void schemaBody(JsonNode schema) {
    JsonNode target = schema;
    String refName = refName(schema);
    if (refName != null) {
      JsonNode resolved = doc.path("components").path("schemas").path(refName);
      out.append("<p class=\"muted\">Schema <a href=\"#schema-").append(esc(refName)).append("\">").append(esc(refName)).append("</a></p>");
      target = resolved;
    }
    if (target.has("properties")) {
      List<String> required = new ArrayList<>();
      target.path("required").forEach(r -> required.add(r.asText()));
      out.append("<table class=\"fields\"><thead><tr><th>field</th><th>type</th><th>rules and notes</th></tr></thead><tbody>");
      for (Map.Entry<String, JsonNode> p : target.get("properties").properties()) {
        boolean isRequired = required.contains(p.getKey());
        out.append("<tr><td><code class=\"field\">").append(esc(p.getKey())).append("</code>")
            .append(isRequired ? " <span class=\"req\" title=\"required\">required</span>" : "")
            .append("</td><td>").append(typeLabel(p.getValue())).append("</td><td>").append(notes(p.getValue())).append("</td></tr>");
      }
      out.append("</tbody></table>");
      if (target.get("additionalProperties") instanceof JsonNode extra && extra.isObject() && extra.has("type")) {
        out.append("<p class=\"muted\">Other fields: ").append(typeLabel(extra)).append("</p>");
      }
    } else {
      String notes = notes(target);
      out.append("<p><span class=\"type\">").append(typeLabel(target)).append("</span>")
          .append(notes.isEmpty() ? "" : " — " + notes).append("</p>");
    }
  }

  /** {@code string}, {@code integer (int64)}, {@code array of Order}, {@code map of string to integer}, {@code string | null}. */
  private String typeLabel(JsonNode schema) {
    String ref = refName(schema);
    if (ref != null) {
      return "<a href=\"#schema-" + esc(ref) + "\">" + esc(ref) + "</a>";
    }
    List<String> labels = new ArrayList<>();
    boolean nullable = false;
    for (String choice : new String[] {"anyOf", "oneOf"}) {
      if (schema.has(choice)) {
        for (JsonNode alternative : schema.get(choice)) {
          if ("null".equals(alternative.path("type").asText())) {
            nullable = true;
          } else {
            labels.add(typeLabel(alternative));
          }
        }
        return or(labels, nullable);
      }
    }
    JsonNode type = schema.get("type");
    if (type == null) {
      return schema.has("enum") ? "enum" : "any";
    }
    for (JsonNode t : type.isArray() ? type : List.of(type)) {
      if ("null".equals(t.asText())) {
        nullable = true;
      } else {
        labels.add(single(t.asText(), schema));
      }
    }
    return or(labels, nullable);
  }

  /** Alternatives joined with a bar, {@code null} last. */
  private static String or(List<String> labels, boolean nullable) {
    List<String> all = new ArrayList<>(labels);
    if (nullable) {
      all.add("<span class=\"null\">null</span>");
    }
    return String.join(" <span class=\"or\">|</span> ", all);
  }

  private String single(String type, JsonNode schema) {
    return switch (type) {
      case "array" -> "array of " + (schema.has("items") ? typeLabel(schema.get("items")) : "any");
      case "object" -> schema.get("additionalProperties") instanceof JsonNode values && values.isObject() && !schema.has("properties")
          ? "map of string to " + typeLabel(values) : "object";
      case "null" -> "<span class=\"null\">null</span>";
      default -> esc(type) + (schema.has("format") ? " <span class=\"muted\">(" + esc(schema.get("format").asText()) + ")</span>" : "");
    };
  }

  private String notes(JsonNode schema) {
    List<String> notes = new ArrayList<>();
    if (schema.has("description")) {
      notes.add(text(schema.get("description").asText()));
    }
    JsonNode enumSource = schema.has("enum") ? schema : referencedEnum(schema);
    if (enumSource != null) {
      List<String> values = new ArrayList<>();
      enumSource.get("enum").forEach(v -> values.add("<code>" + esc(v.isTextual() ? v.asText() : v.toString()) + "</code>"));
      notes.add("one of " + String.join(", ", values));
    }
    if (schema.has("const")) {
      notes.add("always <code>" + esc(schema.get("const").toString()) + "</code>");
    }
    range(notes, schema, "minLength", "maxLength", "length");
    range(notes, schema, "minItems", "maxItems", "items");
    range(notes, schema, "minProperties", "maxProperties", "fields");
    if (schema.has("minimum")) {
      notes.add("≥ " + esc(schema.get("minimum").asText()));
    }
    if (schema.has("exclusiveMinimum") && schema.get("exclusiveMinimum").isNumber()) {
      notes.add("&gt; " + esc(schema.get("exclusiveMinimum").asText()));
    }
    if (schema.has("maximum")) {
      notes.add("≤ " + esc(schema.get("maximum").asText()));
    }
    if (schema.has("exclusiveMaximum") && schema.get("exclusiveMaximum").isNumber()) {
      notes.add("&lt; " + esc(schema.get("exclusiveMaximum").asText()));
    }
    if (schema.has("pattern")) {
      notes.add("matches <code>" + esc(schema.get("pattern").asText()) + "</code>");
    }
    if (schema.has("default")) {
      notes.add("default <code>" + esc(schema.get("default").toString()) + "</code>");
    }
    if (schema.path("uniqueItems").asBoolean(false)) {
      notes.add("unique items");
    }
    JsonNode items = schema.get("items");
    if (items != null && items.isObject() && refName(items) == null) {
      String inner = notes(items);
      if (!inner.isEmpty()) {
        notes.add("each item: " + inner);
      }
    }
    return String.join("; ", notes);
  }

  /** The enum schema a property refers to (directly or as the non-null side of an anyOf), so its values show in place. */
  private JsonNode referencedEnum(JsonNode schema) {
    List<JsonNode> candidates = new ArrayList<>();
    candidates.add(schema);
    schema.path("anyOf").forEach(candidates::add);
    schema.path("oneOf").forEach(candidates::add);
    for (JsonNode candidate : candidates) {
      String ref = refName(candidate);
      if (ref != null) {
        JsonNode target = doc.path("components").path("schemas").path(ref);
        if (target.has("enum")) {
          return target;
        }
      }
    }
    return null;
  }

  private static void range(List<String> notes, JsonNode schema, String min, String max, String what) {
    if (schema.has(min) && schema.has(max)) {
      notes.add(what + " " + schema.get(min).asText() + "–" + schema.get(max).asText());
    } else if (schema.has(min)) {
      notes.add(what + " ≥ " + schema.get(min).asText());
    } else if (schema.has(max)) {
      notes.add(what + " ≤ " + schema.get(max).asText());
    }
  }

  private static String refName(JsonNode schema) {
    String ref = schema.path("$ref").asText(null);
    String prefix = "#/components/schemas/";
    return ref != null && ref.startsWith(prefix) ? ref.substring(prefix.length()) : null;
  }

  /** Follows a local {@code $ref} such as {@code #/components/messages/Order}; null when it leads nowhere. */
  private JsonNode resolve(JsonNode node) {
    String ref = node.path("$ref").asText(null);
    if (ref == null) {
      return node;
    }
    if (!ref.startsWith("#/")) {
      return null;
    }
    JsonNode target = doc.at(ref.substring(1));
    return target.isMissingNode() ? null : target;
  }

  // ----------------------------------------------------------------------------------------- text

  private static String searchKey(String id, JsonNode channel) {
    String address = addressOf(channel);
    return (id + " " + (address != null ? address : "")).toLowerCase(java.util.Locale.ROOT);
  }

  /** The channel's address, or null when it is unknown until run time (null or absent in the document). */
  private static String addressOf(JsonNode channel) {
    JsonNode address = channel.get("address");
    return address != null && address.isTextual() ? address.asText() : null;
  }

  /** An address with its {@code {name}} parameters highlighted. */
  private static String address(String address) {
    Matcher m = PARAM.matcher(address);
    StringBuilder sb = new StringBuilder();
    int last = 0;
    while (m.find()) {
      sb.append(esc(address.substring(last, m.start()))).append("<span class=\"param\">{").append(esc(m.group(1))).append("}</span>");
      last = m.end();
    }
    return sb.append(esc(address.substring(last))).toString();
  }

  /** Escaped text in which {@code `code`} spans (the CommonMark the builder writes) become code. */
  private static String text(String markdown) {
    Matcher m = CODE.matcher(markdown);
    StringBuilder sb = new StringBuilder();
    int last = 0;
    while (m.find()) {
      sb.append(esc(markdown.substring(last, m.start()))).append("<code>").append(esc(m.group(1))).append("</code>");
      last = m.end();
    }
    return sb.append(esc(markdown.substring(last))).toString();
  }

  private static String pretty(JsonNode node) {
    try {
      return EXAMPLE.writeValueAsString(node);
    } catch (JsonProcessingException e) {
      return node.toString();
    }
  }

  static String esc(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> sb.append("&amp;");
        case '<' -> sb.append("&lt;");
        case '>' -> sb.append("&gt;");
        case '"' -> sb.append("&quot;");
        case '\'' -> sb.append("&#39;");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }

  private static final String CSS = """
      :root{--bg:#f6f7f9;--card:#fff;--ink:#1d2330;--muted:#5d6678;--line:#e2e5ea;--accent:#2557d6;--code:#f0f2f5;
      --recv:#0f7b4f;--send:#2557d6;--warn:#b4531a}
      @media (prefers-color-scheme:dark){:root{--bg:#14171c;--card:#1c2027;--ink:#e6e9ee;--muted:#9aa3b2;--line:#2c323c;
      --accent:#7aa2ff;--code:#252a33;--recv:#45c28b;--send:#7aa2ff;--warn:#f0a060}}
      *{box-sizing:border-box}
      body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;background:var(--bg);color:var(--ink)}
      a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
      code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:13px}
      code{background:var(--code);padding:1px 5px;border-radius:4px}
      header.top{padding:22px 32px;background:var(--card);border-bottom:1px solid var(--line)}
      header.top .title{display:flex;align-items:center;gap:10px;flex-wrap:wrap}
      h1{margin:0;font-size:26px}h2{font-size:20px;margin:8px 0 14px}h3{font-size:17px;margin:0 0 8px}
      h4{font-size:13px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:18px 0 8px}
      h5{font-size:15px;margin:0 0 4px}h6{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:10px 0 4px}
      .lead{margin:8px 0 0;color:var(--muted);max-width:80ch}
      .tag{display:inline-block;font-size:12px;padding:1px 8px;border-radius:999px;background:var(--code);color:var(--muted);font-weight:500}
      .version{background:#e8efff;color:#2557d6}.spec{background:#efe8ff;color:#6a3fc8}
      .layout{display:grid;grid-template-columns:260px minmax(0,1fr);gap:24px;padding:24px 32px;max-width:1400px}
      nav.side{position:sticky;top:16px;align-self:start;max-height:calc(100vh - 32px);overflow:auto;font-size:14px}
      nav.side h3{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:16px 0 6px}
      nav.side ul{list-style:none;margin:0;padding:0}nav.side li{margin:3px 0;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
      #filter{width:100%;padding:7px 10px;border:1px solid var(--line);border-radius:8px;background:var(--card);color:var(--ink);font:inherit}
      section{margin-bottom:28px}
      .card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:18px 20px;margin-bottom:16px}
      .kind{display:inline-block;font-size:11px;font-weight:600;text-transform:uppercase;letter-spacing:.04em;padding:2px 7px;border-radius:6px;color:#fff;vertical-align:middle}
      .kind-channel{background:#2f7d95}.kind-pattern{background:#7a4fc4}.kind-list{background:#b4531a}.kind-stream{background:#0f7b4f}.kind-destination{background:#5d6678}
      .address{font-size:15px;background:none;padding:0}.param{color:var(--warn);font-weight:600}
      dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0;font-size:14px}
      dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
      .op{border-left:4px solid var(--line);padding:8px 12px;margin:8px 0;background:var(--bg);border-radius:0 8px 8px 0}
      .op p{margin:4px 0}.op-receive{border-color:var(--recv)}.op-send{border-color:var(--send)}
      .action{font-size:11px;font-weight:700;letter-spacing:.06em;padding:2px 7px;border-radius:6px;color:#fff}
      .op-receive .action{background:var(--recv)}.op-send .action{background:var(--send)}
      .summary{color:var(--muted)}.muted{color:var(--muted)}.reply{font-weight:500}
      .message{border:1px solid var(--line);border-radius:10px;padding:12px 14px;margin:10px 0}
      table.fields{border-collapse:collapse;width:100%;font-size:14px;margin:4px 0}
      table.fields th{text-align:left;font-size:12px;color:var(--muted);font-weight:600;border-bottom:1px solid var(--line);padding:4px 8px}
      table.fields td{border-bottom:1px solid var(--line);padding:5px 8px;vertical-align:top}
      code.field{font-weight:600}.req{font-size:11px;color:var(--warn);font-weight:600}
      .or{color:var(--muted)}.null{color:var(--muted)}.type{font-weight:600}
      pre.code{background:var(--code);padding:10px 12px;border-radius:8px;overflow:auto;margin:4px 0;max-height:480px}
      details summary{cursor:pointer;color:var(--accent);margin:6px 0}
      .label{font-size:12px;color:var(--muted);margin-top:6px}
      .hidden{display:none}.empty{color:var(--muted)}
      @media (max-width:860px){.layout{grid-template-columns:1fr;padding:16px}nav.side{position:static;max-height:none}}
      """;

  private static final String SCRIPT = """
      (function(){var f=document.getElementById('filter');if(!f)return;
      f.addEventListener('input',function(){var q=f.value.trim().toLowerCase();
      document.querySelectorAll('article.channel,li.nav-channel').forEach(function(e){
      e.classList.toggle('hidden',q!==''&&e.getAttribute('data-name').indexOf(q)<0);});});})();
      """;
}
