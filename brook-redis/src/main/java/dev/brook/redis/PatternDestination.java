package dev.brook.redis;

import dev.brook.Destination;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Redis Pub/Sub channels matching a pattern, read with PSUBSCRIBE; delivery as for {@link
 * ChannelDestination}. A pattern is for subscribing only.
 *
 * <p>The pattern is a Redis glob ({@code logs.*}) in which {@code {name}} stands for a named part:
 * {@code logs.{level}} subscribes to {@code logs.*}, and a message on {@code logs.error} has
 * {@code ctx.path("level") == "error"}. Immutable; create with {@link Redis#pattern(String)}.
 */
public final class PatternDestination implements RedisDestination {

  private static final Pattern PARAM = Pattern.compile("\\{([A-Za-z_][A-Za-z0-9_]*)}");

  private final String template;
  private final String glob;
  private final List<String> params;
  private final Pattern matcher;

  PatternDestination(String template) {
    Objects.requireNonNull(template, "pattern");
    if (template.isEmpty()) {
      throw new IllegalArgumentException("A pattern must not be empty.");
    }
    this.template = template;
    StringBuilder globOut = new StringBuilder();
    StringBuilder regex = new StringBuilder();
    List<String> names = new ArrayList<>();
    Matcher m = PARAM.matcher(template);
    int last = 0;
    while (m.find()) {
      appendLiteral(template.substring(last, m.start()), globOut, regex);
      String name = m.group(1);
      if (names.contains(name)) {
        throw new IllegalArgumentException("Pattern '" + template + "' names the part {" + name + "} twice; give each part its own name.");
      }
      names.add(name);
      globOut.append('*');
      regex.append("(?<p").append(names.size() - 1).append(">.*?)");
      last = m.end();
    }
    appendLiteral(template.substring(last), globOut, regex);
    this.glob = globOut.toString();
    this.params = List.copyOf(names);
    this.matcher = Pattern.compile(regex.toString(), Pattern.DOTALL);
  }

  /** Glob characters keep their meaning for Redis; everything else matches literally. */
  private static void appendLiteral(String part, StringBuilder glob, StringBuilder regex) {
    glob.append(part);
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      switch (c) {
        case '*' -> regex.append(".*");
        case '?' -> regex.append('.');
        default -> regex.append(Pattern.quote(String.valueOf(c)));
      }
    }
  }

  /** The pattern as written, with its {@code {name}} parts. */
  public String template() {
    return template;
  }

  /** The Redis glob sent with PSUBSCRIBE. */
  @Override
  public String name() {
    return glob;
  }

  @Override
  public String key() {
    return "pattern:" + glob;
  }

  /** The names of the pattern's parts, in order. */
  @Override
  public List<String> params() {
    return params;
  }

  /** The named parts of a concrete channel matching this pattern; empty when it has none or does not match. */
  public Map<String, String> match(String channel) {
    if (params.isEmpty()) {
      return Map.of();
    }
    Matcher m = matcher.matcher(channel);
    if (!m.matches()) {
      return Map.of();
    }
    Map<String, String> values = new LinkedHashMap<>();
    for (int i = 0; i < params.size(); i++) {
      values.put(params.get(i), m.group("p" + i));
    }
    return Collections.unmodifiableMap(values);
  }

  /** For a pattern, the new name is a template too ({@code billing.{x}}). */
  @Override
  public PatternDestination withName(String name) {
    return new PatternDestination(name);
  }

  /** The prefix goes in front of the template, so {@code {name}} parts keep their names: {@code billing.logs.{level}}. */
  @Override
  public PatternDestination withPrefix(String prefix) {
    return prefix.isEmpty() ? this : new PatternDestination(prefix + template);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof PatternDestination p && p.template.equals(template);
  }

  @Override
  public int hashCode() {
    return template.hashCode();
  }

  @Override
  public String toString() {
    return key();
  }
}
