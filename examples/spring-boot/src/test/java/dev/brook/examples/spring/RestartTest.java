package dev.brook.examples.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.brook.Broker;
import dev.brook.Subscription;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.net.URI;
import java.net.URL;
import java.net.URLClassLoader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.io.DefaultResourceLoader;

/**
 * A DevTools-style restart of the example, in one JVM: DevTools closes the application context and
 * starts a new one whose application classes come from a fresh class loader (its {@code
 * RestartClassLoader}), so every handler class is a new class with the old name and the
 * registration code runs again. This test does the same with a child-first loader over {@code
 * target/classes}, three times: each run has exactly one subscription per id (the same ids), and an
 * order posted to the last one gives exactly one receipt; LeakCheckExtension finds no thread or
 * connection left.
 */
@WithRedisServer
class RestartTest {

  private static final int RESTARTS = 3;

  /** DevTools' shape: the application's classes reloaded, Spring and Brook shared from the parent. */
  static final class RestartClassLoader extends URLClassLoader {
    RestartClassLoader(URL classes, ClassLoader parent) {
      super(new URL[] {classes}, parent);
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
      if (name.startsWith("dev.brook.examples.spring.")) {
        synchronized (getClassLoadingLock(name)) {
          Class<?> c = findLoadedClass(name);
          if (c == null) {
            try {
              c = findClass(name);
            } catch (ClassNotFoundException e) {
              return super.loadClass(name, resolve); // the tests themselves
            }
          }
          return c;
        }
      }
      return super.loadClass(name, resolve);
    }
  }

  @Test
  void restartsInOneJvmKeepOneSubscriptionPerId(RedisServer redis) throws Exception {
    URL classes = OrdersApplication.class.getProtectionDomain().getCodeSource().getLocation();
    List<String> firstIds = null;
    Class<?> previousHandler = null;
    try (HttpClient http = HttpClient.newHttpClient()) {
      for (int i = 1; i <= RESTARTS; i++) {
        try (RestartClassLoader loader = new RestartClassLoader(classes, getClass().getClassLoader())) {
          Class<?> app = loader.loadClass(OrdersApplication.class.getName());
          assertThat(app).isNotSameAs(OrdersApplication.class);
          Thread current = Thread.currentThread();
          ClassLoader before = current.getContextClassLoader();
          current.setContextClassLoader(loader);
          ConfigurableApplicationContext ctx;
          try {
            ctx = new SpringApplicationBuilder(app).resourceLoader(new DefaultResourceLoader(loader))
                .run("--brook.redis.url=" + redis.url(), "--server.port=0", "--spring.main.banner-mode=off");
          } finally {
            current.setContextClassLoader(before);
          }
          try {
            Broker broker = ctx.getBean(Broker.class);
            List<String> ids = broker.subscriptions().stream().map(Subscription::id).sorted().toList();
            assertThat(ids).containsExactly(OrderHandler.class.getName() + "#onOrder", ReceiptLog.class.getName() + "#onReceipt");
            if (firstIds == null) {
              firstIds = ids;
            }
            assertThat(ids).isEqualTo(firstIds);
            Class<?> handler = ctx.getBean("orderHandler").getClass();
            assertThat(handler).isNotSameAs(OrderHandler.class).isNotSameAs(previousHandler);
            previousHandler = handler;
            assertThat(numsub(redis, "orders")).isEqualTo(1);
            assertThat(numsub(redis, "receipts")).isEqualTo(1);
            if (i == RESTARTS) {
              String base = "http://127.0.0.1:" + ((WebServerApplicationContext) ctx).getWebServer().getPort();
              assertThat(post(http, base, 7).statusCode()).isEqualTo(202);
              HttpRequest receipts = HttpRequest.newBuilder(URI.create(base + "/receipts")).build();
              await().atMost(Duration.ofSeconds(15))
                  .until(() -> http.send(receipts, HttpResponse.BodyHandlers.ofString()).body().contains("\"orderId\":7"));
              // A stacked subscriber would have answered order 7 twice by the time order 8 is through.
              assertThat(post(http, base, 8).statusCode()).isEqualTo(202);
              await().atMost(Duration.ofSeconds(15))
                  .until(() -> http.send(receipts, HttpResponse.BodyHandlers.ofString()).body().contains("\"orderId\":8"));
              assertThat(http.send(receipts, HttpResponse.BodyHandlers.ofString()).body()).isEqualTo(
                  "[{\"orderId\":7,\"item\":\"jam\",\"quantity\":1},{\"orderId\":8,\"item\":\"jam\",\"quantity\":1}]");
            }
          } finally {
            ctx.close();
          }
          assertThat(numsub(redis, "orders")).isZero();
        }
      }
    }
  }

  private static HttpResponse<String> post(HttpClient http, String base, int id) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create(base + "/orders")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString("{\"id\":" + id + ",\"item\":\"jam\",\"quantity\":1}")).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static long numsub(RedisServer redis, String channel) {
    return ((Number) ((List<?>) redis.command("PUBSUB", "NUMSUB", channel)).get(1)).longValue();
  }
}
