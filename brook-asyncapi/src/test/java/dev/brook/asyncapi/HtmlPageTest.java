package dev.brook.asyncapi;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static dev.brook.redis.Redis.pattern;
import static dev.brook.redis.Redis.stream;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.asyncapi.Payloads.Event;
import dev.brook.asyncapi.Payloads.Job;
import dev.brook.asyncapi.Payloads.Order;
import dev.brook.asyncapi.Payloads.Receipt;
import dev.brook.redis.RedisBroker;
import org.junit.jupiter.api.Test;

/** The docs page as text: what it shows, that it loads nothing, and that it escapes what users named. */
class HtmlPageTest {

  @Test
  void page_showsServersChannelsOperationsSchemasAndExamples() {
    try (RedisBroker broker = RedisBroker.create("redis://app:hunter2@127.0.0.1:6399/1")) {
      broker.subscriber(channel("orders")).publishTo(channel("receipts")).handle(Order.class, (o, ctx) -> null);
      broker.subscriber(channel("receipts")).handle(Receipt.class, (r, ctx) -> null);
      broker.subscriber(pattern("logs.{level}")).handle(String.class, (s, ctx) -> null);
      broker.subscriber(list("jobs")).batch(10).handle(Job.class, (j, ctx) -> null);
      broker.subscriber(stream("events").group("billing")).handle(Event.class, (e, ctx) -> null);

      String html = AsyncApi.builder(broker).title("Order service").version("2.0.0")
          .description("Takes `orders`.").build().toHtml();

      assertThat(html).startsWith("<!DOCTYPE html>").endsWith("</html>\n")
          .contains("<title>Order service 2.0.0 · AsyncAPI</title>")
          .contains("<p class=\"lead\">Takes <code>orders</code>.</p>")
          .contains("<code>127.0.0.1:6399</code>")
          .contains("id=\"channel-channel.orders\"", "id=\"channel-channel.receipts\"", "id=\"channel-pattern.logs.level\"",
              "id=\"channel-list.jobs\"", "id=\"channel-stream.events.billing\"", "id=\"channel-reply\"")
          .contains("<code class=\"address\">logs.<span class=\"param\">{level}</span></code>")
          .contains("<span class=\"action\">RECEIVE</span>", "<span class=\"action\">SEND</span>")
          .contains("<dt>maxBatchSize</dt><dd><code>10</code></dd>", "<dt>groupName</dt><dd><code>billing</code></dd>")
          .contains("<code class=\"field\">quantity</code> <span class=\"req\" title=\"required\">required</span>")
          .contains("≥ 1; ≤ 100", "matches <code>^(?:[A-Z]{3})$</code>", "one of <code>LOW</code>, <code>NORMAL</code>, <code>HIGH</code>")
          .contains("array of <a href=\"#schema-LineItem\">LineItem</a> <span class=\"or\">|</span> <span class=\"null\">null</span>")
          .contains("id=\"schema-Order\"", "&quot;currency&quot;: &quot;ABC&quot;")
          .contains("Replies to the channel named in the header <code>reply_to</code>")
          .doesNotContain("hunter2");
    }
  }

  @Test
  void page_isSelfContained_noNetworkNoExternalFiles() {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:6399")) {
      broker.subscriber(channel("orders")).handle(Order.class, (o, ctx) -> null);
      String html = AsyncApi.of(broker).toHtml().toLowerCase(java.util.Locale.ROOT);

      assertThat(html).doesNotContain("<link", "src=", "@import", "url(", "http://", "https://", "//cdn")
          .contains("<style>", "<script>");
    }
  }

  @Test
  void namesFromUserCode_areEscaped_neverMarkup() {
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:6399")) {
      broker.subscriber(channel("<img src=x onerror=alert(1)>")).handle(String.class, (s, ctx) -> null);
      String html = AsyncApi.builder(broker).title("<script>alert('t')</script>").build().toHtml();

      assertThat(html).doesNotContain("<img src=x", "<script>alert")
          .contains("&lt;img src=x onerror=alert(1)&gt;", "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;");
    }
  }
}
