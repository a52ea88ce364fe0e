package dev.brook.asyncapi;

import dev.brook.App;
import dev.brook.Broker;
import dev.brook.asyncapi.internal.Documents;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * The AsyncAPI 3.0.0 description of a broker: what it subscribes to and publishes, with the JSON
 * Schema of every payload, as JSON, YAML or one self-contained HTML page.
 *
 * <pre>{@code
 * String json = AsyncApi.of(broker).toJson();
 * String html = AsyncApi.builder(broker).title("Orders").version("1.4.0").build().toHtml();
 * }</pre>
 *
 * <p><b>What a document holds.</b> {@code servers.redis} from the broker's URL (host, port and
 * database; never a password); one channel per destination with Redis bindings (kind, group,
 * consumer, dead letter); a {@code receive} operation per live subscription and a {@code send}
 * operation per destination its results are published to; under {@code components} a message per
 * payload type with its JSON Schema (records, POJOs, enums, collections, {@code Optional}, nullable
 * fields and Jakarta Validation constraints), the headers Brook writes ({@code correlation_id},
 * {@code content-type}, {@code reply_to}) and an example made from the schema. Closed
 * subscriptions are not documented. Every document validates against the official AsyncAPI 3.0.0
 * JSON Schema; the tests check that. What the document says about the server and each destination
 * comes from the broker's transport ({@link dev.brook.spi.Brokers#describe}); the Redis words above
 * are the Redis transport's, and a broker on another transport is described in its own.
 *
 * <p><b>When.</b> Each {@code to...} call describes what is registered on the broker at that
 * moment; the broker need not be started or connected, and nothing is sent to Redis. An {@code
 * AsyncApi} is immutable and thread-safe; it holds the broker but does not own it (it never starts
 * or closes it).
 *
 * <p><b>Defaults.</b> Title {@code Brook service}, version {@code 0.1.0}, no description.
 */
public final class AsyncApi {

  /** The title used when none is set. */
  public static final String DEFAULT_TITLE = "Brook service";

  /** The version used when none is set. */
  public static final String DEFAULT_VERSION = "0.1.0";

  private final Broker broker;
  private final String title;
  private final String version;
  private final String description;

  private AsyncApi(Builder b) {
    this.broker = b.broker;
    this.title = b.title;
    this.version = b.version;
    this.description = b.description;
  }

  /** The description of this broker with the default title and version. */
  public static AsyncApi of(Broker broker) {
    return builder(broker).build();
  }

  /** The description of the app's broker with the default title and version. */
  public static AsyncApi of(App app) {
    return builder(Objects.requireNonNull(app, "app").broker()).build();
  }

  /** Options for the description of this broker; see {@link Builder}. */
  public static Builder builder(Broker broker) {
    return new Builder(broker);
  }

  /** {@code info.title}. */
  public String title() {
    return title;
  }

  /** {@code info.version}: the version of the service's API, not of Brook. */
  public String version() {
    return version;
  }

  /** {@code info.description}, or null. */
  public String description() {
    return description;
  }

  /** The document as pretty-printed JSON. */
  public String toJson() {
    return Documents.toJson(Documents.build(broker, title, version, description));
  }

  /** The document as YAML (strings that look like numbers or booleans are quoted). */
  public String toYaml() {
    return Documents.toYaml(Documents.build(broker, title, version, description));
  }

  /**
   * One HTML page that shows the document: servers, every channel with its operations, payload
   * schemas as tables, examples, and the raw JSON. Self-contained: CSS and a few lines of script are
   * inline, nothing is loaded from the network, and the page reads fine without script.
   */
  public String toHtml() {
    return Documents.toHtml(Documents.build(broker, title, version, description));
  }

  @Override
  public String toString() {
    return "AsyncApi[" + title + " " + version + ", " + broker + "]";
  }

  /**
   * Options for an {@link AsyncApi}; each may be set once (a second call fails naming the option).
   * Not thread-safe; use one builder per document.
   */
  public static final class Builder {
    private final Broker broker;
    private String title = DEFAULT_TITLE;
    private String version = DEFAULT_VERSION;
    private String description;
    private final Set<String> set = new HashSet<>();

    private Builder(Broker broker) {
      this.broker = Objects.requireNonNull(broker, "broker");
    }

    private void once(String option) {
      if (!set.add(option)) {
        throw new IllegalStateException(option + " was already set on this AsyncApi builder; set each option once.");
      }
    }

    /** {@code info.title}: the service's name; default {@value AsyncApi#DEFAULT_TITLE}. */
    public Builder title(String title) {
      once("title");
      this.title = nonBlank(title, "title");
      return this;
    }

    /** {@code info.version}: the version of the service's API; default {@value AsyncApi#DEFAULT_VERSION}. */
    public Builder version(String version) {
      once("version");
      this.version = nonBlank(version, "version");
      return this;
    }

    /** {@code info.description}; CommonMark is allowed and shown as text on the HTML page. */
    public Builder description(String description) {
      once("description");
      this.description = nonBlank(description, "description");
      return this;
    }

    public AsyncApi build() {
      return new AsyncApi(this);
    }

    private static String nonBlank(String value, String option) {
      Objects.requireNonNull(value, option);
      if (value.isBlank()) {
        throw new IllegalArgumentException("The AsyncAPI " + option + " must not be blank; leave it unset for the default.");
      }
      return value;
    }
  }
}
