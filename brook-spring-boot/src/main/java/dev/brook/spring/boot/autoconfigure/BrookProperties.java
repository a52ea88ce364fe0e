package dev.brook.spring.boot.autoconfigure;

import dev.brook.DuplicatePolicy;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Brook's settings in a Spring Boot application, under {@code brook.*}. Every property is optional:
 * without {@code brook.redis.url} the broker uses {@code spring.data.redis.*} when present (one Redis
 * configuration for Spring Data Redis and Brook), else {@code redis://localhost:6379}.
 *
 * <p>Bound once when the context starts; invalid values fail the start with Boot's failure analysis
 * naming the property (see {@link #validate()}).
 */
@ConfigurationProperties("brook")
public class BrookProperties {

  /** Whether to create Brook's broker and register @Subscribe beans. */
  private boolean enabled = true;

  private final Redis redis = new Redis();

  /**
   * How long a stop lets handlers in flight finish; handlers still running then are interrupted and
   * their messages given back. Default: the smaller of 15 s and spring.lifecycle.timeout-per-shutdown-phase.
   */
  private Duration gracefulTimeout;

  /**
   * The application name the broker announces itself with to the Brook console. Default:
   * spring.application.name, else the client name. (A BrookBrokerCustomizer must not set it too: the
   * builder takes it once.)
   */
  private String appName;

  /** What registering a subscription id that is already live does: REPLACE (default) or REJECT. */
  private DuplicatePolicy duplicatePolicy = DuplicatePolicy.REPLACE;

  /** Whether each handled message gets a line on the logger dev.brook.access (at DEBUG). */
  private boolean accessLog = true;

  private final AsyncApi asyncapi = new AsyncApi();

  private final Console console = new Console();

  private final Toggle metrics = new Toggle();

  private final Toggle observation = new Toggle();

  public String getAppName() {
    return appName;
  }

  public void setAppName(String appName) {
    this.appName = appName;
  }

  public boolean isEnabled() {
    return enabled;
  }

  public void setEnabled(boolean enabled) {
    this.enabled = enabled;
  }

  public Redis getRedis() {
    return redis;
  }

  public Duration getGracefulTimeout() {
    return gracefulTimeout;
  }

  public void setGracefulTimeout(Duration gracefulTimeout) {
    this.gracefulTimeout = gracefulTimeout;
  }

  public DuplicatePolicy getDuplicatePolicy() {
    return duplicatePolicy;
  }

  public void setDuplicatePolicy(DuplicatePolicy duplicatePolicy) {
    this.duplicatePolicy = duplicatePolicy;
  }

  public boolean isAccessLog() {
    return accessLog;
  }

  public void setAccessLog(boolean accessLog) {
    this.accessLog = accessLog;
  }

  public AsyncApi getAsyncapi() {
    return asyncapi;
  }

  public Console getConsole() {
    return console;
  }

  /** Brook's Micrometer meters, when brook-micrometer is present and the context has a MeterRegistry. */
  public Toggle getMetrics() {
    return metrics;
  }

  /** Brook's Micrometer Observations, when brook-micrometer is present and the context has an ObservationRegistry. */
  public Toggle getObservation() {
    return observation;
  }

  /** A part that is on unless switched off. */
  public static class Toggle {

    /** Whether to bind it. */
    private boolean enabled = true;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }
  }

  /**
   * Checks what binding alone cannot: called when the broker is built, so a wrong value fails the
   * context start with a message naming the property and the fix.
   *
   * @throws IllegalArgumentException naming the property
   */
  public void validate() {
    if (gracefulTimeout != null && (gracefulTimeout.isZero() || gracefulTimeout.isNegative())) {
      throw new IllegalArgumentException("brook.graceful-timeout must be positive, was " + gracefulTimeout
          + ". Set it to how long a stop may wait for handlers in flight, e.g. brook.graceful-timeout=10s.");
    }
    if (redis.url != null && !redis.url.isBlank() && !redis.url.matches("(?i)rediss?(-socket)?://.*")) {
      throw new IllegalArgumentException("brook.redis.url must be a Redis URL such as redis://host:6379/0 or "
          + "rediss://user:password@host:6380, was '" + dev.brook.redis.Redis.maskedUrl(redis.url) + "'.");
    }
    if (redis.clientName != null && redis.clientName.chars().anyMatch(c -> c <= ' ')) {
      throw new IllegalArgumentException("brook.redis.client-name must not contain spaces or control characters "
          + "(Redis CLIENT SETNAME refuses them), was '" + redis.clientName + "'.");
    }
    String path = asyncapi.path;
    if (path == null || !path.startsWith("/") || path.endsWith("/")) {
      throw new IllegalArgumentException("brook.asyncapi.path must start with '/' and not end with one, e.g. /asyncapi, was '"
          + path + "'.");
    }
    String consolePath = console.path;
    if (consolePath == null || !consolePath.startsWith("/") || consolePath.endsWith("/")) {
      throw new IllegalArgumentException("brook.console.path must start with '/' and not end with one, e.g. /brook/console, "
          + "was '" + consolePath + "'.");
    }
    if (console.token != null && console.token.isBlank()) {
      throw new IllegalArgumentException("brook.console.token must not be blank; leave it out for none (then actions "
          + "are refused unless the request arrives on a loopback address).");
    }
  }

  /** The Redis server Brook connects to. */
  public static class Redis {

    /**
     * The Redis URL, e.g. redis://user:password@host:6379/0 or rediss:// for TLS. Default: from
     * spring.data.redis.url, or .host, .port, .username, .password, .database, .ssl.enabled; else
     * redis://localhost:6379.
     */
    private String url;

    /** The name Brook's connections give themselves (CLIENT SETNAME), shown by CLIENT LIST. */
    private String clientName;

    /** How long to wait for a connection to Redis. Default: Brook's (see RedisBroker.Builder#connectTimeout). */
    private Duration connectTimeout;

    /** How long a Redis command may take before it fails. Default: Brook's (5 s). */
    private Duration commandTimeout;

    public String getUrl() {
      return url;
    }

    public void setUrl(String url) {
      this.url = url;
    }

    public String getClientName() {
      return clientName;
    }

    public void setClientName(String clientName) {
      this.clientName = clientName;
    }

    public Duration getConnectTimeout() {
      return connectTimeout;
    }

    public void setConnectTimeout(Duration connectTimeout) {
      this.connectTimeout = connectTimeout;
    }

    public Duration getCommandTimeout() {
      return commandTimeout;
    }

    public void setCommandTimeout(Duration commandTimeout) {
      this.commandTimeout = commandTimeout;
    }
  }

  /** The AsyncAPI document and page, served when brook-asyncapi and Spring MVC are on the class path. */
  public static class AsyncApi {

    /** Whether to serve the AsyncAPI document and page. */
    private boolean enabled = true;

    /**
     * Where: the page at {path}, the document at {path}.json and {path}.yaml.
     */
    private String path = "/asyncapi";

    /** The document's title. Default: spring.application.name, else "Brook application". */
    private String title;

    /** The document's version. */
    private String version;

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public String getPath() {
      return path;
    }

    public void setPath(String path) {
      this.path = path;
    }

    public String getTitle() {
      return title;
    }

    public void setTitle(String title) {
      this.title = title;
    }

    public String getVersion() {
      return version;
    }

    public void setVersion(String version) {
      this.version = version;
    }
  }

  /**
   * The Brook console (see docs/console.md), mounted in the Spring MVC application when {@code
   * brook-console} is on the class path and {@code brook.console.enabled=true}. Off by default: it
   * shows every payload on the Redis and can act on it.
   */
  public static class Console {

    /** Whether to mount the Brook console. */
    private boolean enabled = false;

    /** Where: the page at {path}/, the JSON API at {path}/api/. */
    private String path = "/brook/console";

    /** Refuse every action (403); the views stay. */
    private boolean readOnly = false;

    /**
     * Require "Authorization: Bearer <token>" on every action. Without one, an action is refused
     * unless it arrives on a loopback address.
     */
    private String token;

    /**
     * AsyncAPI 3 documents (JSON) as Spring resource locations, e.g. classpath:asyncapi.json: a payload
     * published from the console to a destination they describe must match its message schema.
     */
    private java.util.List<String> asyncapi = new java.util.ArrayList<>();

    public boolean isEnabled() {
      return enabled;
    }

    public void setEnabled(boolean enabled) {
      this.enabled = enabled;
    }

    public String getPath() {
      return path;
    }

    public void setPath(String path) {
      this.path = path;
    }

    public boolean isReadOnly() {
      return readOnly;
    }

    public void setReadOnly(boolean readOnly) {
      this.readOnly = readOnly;
    }

    public String getToken() {
      return token;
    }

    public void setToken(String token) {
      this.token = token;
    }

    public java.util.List<String> getAsyncapi() {
      return asyncapi;
    }

    public void setAsyncapi(java.util.List<String> asyncapi) {
      this.asyncapi = asyncapi;
    }
  }
}
