package dev.brook.examples.guide;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every example of docs/guide.md runs against a private redis-server and does what the guide says. */
@WithRedisServer
class GuideTest {

  @Test
  void publishers(RedisServer redis) throws Exception {
    assertThat(Publishers.run(redis.url())).containsExactly(
        "1 source=billing priority=null", "2 source=billing priority=high", "3 source=billing priority=null");
    assertThat(redis.command("LLEN", "jobs")).isEqualTo(3L);
  }

  @Test
  void requestReply(RedisServer redis) {
    List<String> out = RequestReply.run(redis.url());
    assertThat(out).hasSize(6);
    assertThat(out.subList(0, 3)).containsExactly("Price[item=book, cents=1299]", "Price[item=pen, cents=1299]",
        "Price[item=ink, cents=99]");
    assertThat(out.get(3)).startsWith("No reply to request ").contains(" on channel:nobody-listens within 200 ms. ");
    assertThat(out.get(4)).startsWith("The request ").endsWith(" on channel:stock failed in the subscriber's handler: "
        + "java.lang.IllegalStateException: no lamp left. The subscriber's log has the details.");
    assertThat(out.get(5)).isEqualTo("RequestMetrics[pending=0, replied=4, timedOut=1, lateReplies=0]");
  }

  @Test
  void annotatedService(RedisServer redis) throws Exception {
    List<String> out = Services.run(redis.url());
    assertThat(out).contains("subscriptions: 3", "Receipt[orderId=42, tenant=acme]", "WARN on logs.WARN: disk almost full",
        "imported 2 orders");
  }

  @Test
  void routers(RedisServer redis) throws Exception {
    assertThat(Routers.run(redis.url())).containsExactly("paid 7", "channel:v1.billing.invoices RUNNING", "subscriptions: 2",
        "ran j1");
  }

  @Test
  void middlewares(RedisServer redis) {
    List<String> out = Middlewares.run(redis.url());
    assertThat(out.subList(0, 2)).containsExactly("ok 1", "Problem[message=who are you?]");
    assertThat(out.get(2)).startsWith("timed ");
  }

  @Test
  void readmeService(RedisServer redis) {
    assertThat(ReadmeService.run(redis.url())).extracting(Object::toString)
        .containsExactly("Receipt[invoiceId=7, tenant=acme]", "Problem[message=no tenant]");
  }

  @Test
  void consuming(RedisServer redis) throws Exception {
    assertThat(Consuming.run(redis.url())).containsExactly("pulled ink", "first pen", "v2 pad in EUR", "v1 cap",
        "ran a", "tasks STOPPED", "login by ann");
    assertThat(redis.command("LLEN", "tasks")).isEqualTo(1L); // "b" waits for the next start
  }
}
