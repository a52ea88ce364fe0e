package dev.brook.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * The example application as it runs: started in-process on a private redis-server and a free port,
 * driven over HTTP. The order posted reaches the @Subscribe handler, its receipt comes back on
 * {@code receipts}, and the health and metrics endpoints show Brook.
 */
@WithRedisServer
class OrdersApplicationTest {

  private static final Duration WAIT = Duration.ofSeconds(15);

  private ConfigurableApplicationContext app;
  private HttpClient http;
  private String base;

  @BeforeEach
  void start(RedisServer redis) {
    app = SpringApplication.run(OrdersApplication.class, "--brook.redis.url=" + redis.url(), "--server.port=0",
        "--spring.main.banner-mode=off");
    int port = ((WebServerApplicationContext) app).getWebServer().getPort();
    base = "http://127.0.0.1:" + port;
    http = HttpClient.newHttpClient();
  }

  @AfterEach
  void stop() {
    http.close();
    app.close();
  }

  private HttpResponse<String> get(String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(String path, String json) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void anOrderPostedOverHttpIsHandledAndShowsInHealthAndMetrics(RedisServer redis) throws Exception {
    assertThat(((Number) ((List<?>) redis.command("PUBSUB", "NUMSUB", "orders")).get(1)).longValue()).isEqualTo(1);

    assertThat(post("/orders", "{\"id\":42,\"item\":\"tea\",\"quantity\":3}").statusCode()).isEqualTo(202);
    await().atMost(WAIT).until(() -> get("/receipts").body().contains("\"orderId\":42"));
    assertThat(get("/receipts").body()).isEqualTo("[{\"orderId\":42,\"item\":\"tea\",\"quantity\":3}]");

    // Spring MVC refuses an invalid order before it is published.
    assertThat(post("/orders", "{\"id\":-1,\"item\":\"\",\"quantity\":0}").statusCode()).isEqualTo(400);

    HttpResponse<String> health = get("/actuator/health/brook");
    assertThat(health.statusCode()).isEqualTo(200);
    assertThat(health.body()).contains("\"status\":\"UP\"").contains("dev.brook.examples.spring.OrderHandler#onOrder")
        .contains("dev.brook.examples.spring.ReceiptLog#onReceipt").contains("\"reachable\":true");

    assertThat(get("/actuator/metrics").body()).contains("brook.subscription.handled");
    String handled = get("/actuator/metrics/brook.subscription.handled?tag=messaging.destination.subscription.name:"
        + "dev.brook.examples.spring.OrderHandler%23onOrder").body();
    assertThat(handled).contains("{\"statistic\":\"COUNT\",\"value\":1.0}");

    // Brook starts after the web server and stops before its graceful shutdown (Spring stops higher phases first).
    assertThat(dev.brook.spring.boot.autoconfigure.BrookLifecycle.PHASE)
        .isGreaterThan(WebServerApplicationContext.GRACEFUL_SHUTDOWN_PHASE)
        .isGreaterThan(WebServerApplicationContext.START_STOP_LIFECYCLE_PHASE);

    HttpResponse<String> asyncapi = get("/asyncapi.json");
    assertThat(asyncapi.statusCode()).isEqualTo(200);
    assertThat(asyncapi.body()).contains("\"asyncapi\": \"3.0.0\"").contains("orders").contains("receipts");
  }
}
