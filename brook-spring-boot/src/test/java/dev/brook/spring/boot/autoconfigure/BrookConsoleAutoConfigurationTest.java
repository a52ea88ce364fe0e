package dev.brook.spring.boot.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.brook.console.BrookConsole;
import dev.brook.redis.RedisBroker;
import dev.brook.spring.boot.autoconfigure.Handlers.Order;
import dev.brook.spring.boot.autoconfigure.Handlers.Orders;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.hamcrest.Matchers;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.http.MediaType;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.ServerResponse;

/**
 * The Brook console in a Spring MVC application on a private redis-server: off by default; with
 * {@code brook.console.enabled=true} the page and the JSON API at {@code brook.console.path}, through
 * the application's broker (which the console leaves open), with the token, read-only mode and an
 * AsyncAPI document from {@code brook.console.asyncapi}.
 */
@WithRedisServer
class BrookConsoleAutoConfigurationTest {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(20);

  private WebApplicationContextRunner web;

  @BeforeEach
  void setUp(RedisServer redis) {
    web = new WebApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(BrookAutoConfiguration.class, BrookConsoleAutoConfiguration.class))
        .withUserConfiguration(BrookAsyncApiAutoConfigurationTest.OrdersConfig.class)
        .withPropertyValues("brook.redis.url=" + redis.url());
  }

  @SuppressWarnings("unchecked")
  private static MockMvc mvc(org.springframework.context.ApplicationContext ctx) {
    return MockMvcBuilders.routerFunctions(ctx.getBean("brookConsoleRoutes", RouterFunction.class)).build();
  }

  private static JsonNode json(MockMvc mvc, String path) throws Exception {
    return JSON.readTree(mvc.perform(get(path)).andExpect(status().isOk()).andReturn().getResponse().getContentAsString());
  }

  @Test
  void offUnlessEnabled() {
    web.run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean(BrookConsole.class).doesNotHaveBean("brookConsoleRoutes"));
    web.withPropertyValues("brook.console.enabled=true").withClassLoader(new FilteredClassLoader(BrookConsole.class))
        .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean("brookConsoleRoutes"));
  }

  @Test
  void theConsoleIsServedAtItsPath_withTheTokenAndTheAsyncApiSchema(@TempDir Path tmp) throws Exception {
    Path doc = Files.writeString(tmp.resolve("asyncapi.json"), """
        {"asyncapi": "3.0.0", "info": {"title": "shop", "version": "1"},
         "channels": {"channel.orders": {"address": "orders", "bindings": {"redis": {"kind": "channel"}},
           "messages": {"Order": {"$ref": "#/components/messages/Order"}}}},
         "components": {"messages": {"Order": {"name": "Order", "contentType": "application/json",
             "payload": {"$ref": "#/components/schemas/Order"}}},
           "schemas": {"Order": {"type": "object", "required": ["id"],
             "properties": {"id": {"type": "integer"}, "customerName": {"type": ["string", "null"]}}}}}}
        """);
    web.withPropertyValues("brook.console.enabled=true", "brook.console.path=/ops/console", "brook.console.token=s3cret",
        "brook.console.asyncapi=file:" + doc).run(ctx -> {
          assertThat(ctx).hasNotFailed();
          MockMvc mvc = mvc(ctx);
          RedisBroker broker = ctx.getBean(RedisBroker.class);
          mvc.perform(get("/ops/console")).andExpect(status().isFound())
              .andExpect(header().string("Location", "/ops/console/"));
          mvc.perform(get("/ops/console/")).andExpect(status().isOk())
              .andExpect(content().contentTypeCompatibleWith("text/html"))
              .andExpect(content().string(Matchers.containsString("console.js")));
          mvc.perform(get("/ops/console/console.js")).andExpect(status().isOk());
          // The application's own broker announces itself and shows, with its subscription.
          await().atMost(WAIT).until(() -> json(mvc, "/ops/console/api/brokers").get("brokers").size() == 1);
          JsonNode b = json(mvc, "/ops/console/api/brokers").get("brokers").get(0);
          assertThat(b.get("id").asText()).isEqualTo(broker.instanceId().orElseThrow());
          assertThat(b.get("subscriptions").get(0).get("destination").asText()).isEqualTo("orders");

          String order = "{\"kind\": \"channel\", \"destination\": \"orders\", \"payload\": \"{\\\"id\\\": 7}\"}";
          mvc.perform(post("/ops/console/api/publish").contentType(MediaType.APPLICATION_JSON).content(order))
              .andExpect(status().isForbidden()).andExpect(content().string(Matchers.containsString("token")));
          String wrong = "{\"kind\": \"channel\", \"destination\": \"orders\", \"payload\": \"{\\\"id\\\": \\\"seven\\\"}\"}";
          mvc.perform(post("/ops/console/api/publish").header("Authorization", "Bearer s3cret")
                  .contentType(MediaType.APPLICATION_JSON).content(wrong))
              .andExpect(status().isBadRequest()).andExpect(content().string(Matchers.containsString("field 'id'")));
          Orders orders = ctx.getBean(Orders.class);
          // A channel keeps nothing: publish until the subscription (confirmed asynchronously) gets one.
          await().atMost(WAIT).until(() -> {
            mvc.perform(post("/ops/console/api/publish").header("Authorization", "Bearer s3cret")
                .contentType(MediaType.APPLICATION_JSON).content(order)).andExpect(status().isOk());
            return orders.seen.contains(new Order(7, null));
          });
        });
  }

  @Test
  void readOnlyRefusesActions_andClosingTheConsoleLeavesTheBrokerOpen() {
    web.withPropertyValues("brook.console.enabled=true", "brook.console.read-only=true").run(ctx -> {
      MockMvc mvc = mvc(ctx);
      assertThat(json(mvc, "/brook/console/api/overview").get("readOnly").asBoolean()).isTrue();
      mvc.perform(post("/brook/console/api/purge").contentType(MediaType.APPLICATION_JSON)
              .content("{\"kind\": \"list\", \"destination\": \"jobs\"}"))
          .andExpect(status().isForbidden()).andExpect(content().string(Matchers.containsString("read-only")));
      ctx.getBean(BrookConsole.class).close(); // the context closes it again: idempotent, and the broker is the app's
      assertThat(ctx.getBean(RedisBroker.class).deadLetters(dev.brook.redis.Redis.list("jobs")).count()).isZero();
    });
  }

  @Test
  void withoutATokenAnActionFromBeyondLoopbackIsRefused() {
    web.withPropertyValues("brook.console.enabled=true").run(ctx -> {
      MockMvc mvc = mvc(ctx);
      mvc.perform(post("/brook/console/api/purge").contentType(MediaType.APPLICATION_JSON)
              .content("{\"kind\": \"list\", \"destination\": \"jobs\"}").with(r -> {
                r.setLocalAddr("10.1.2.3");
                return r;
              }))
          .andExpect(status().isForbidden()).andExpect(content().string(Matchers.containsString("beyond loopback")));
      mvc.perform(post("/brook/console/api/purge").contentType(MediaType.APPLICATION_JSON)
              .content("{\"kind\": \"list\", \"destination\": \"jobs\"}"))
          .andExpect(status().isOk());
    });
  }

  @Test
  void aBadPathFailsTheStart() {
    web.withPropertyValues("brook.console.enabled=true", "brook.console.path=console/")
        .run(ctx -> assertThat(ctx).hasFailed().getFailure().hasStackTraceContaining("brook.console.path"));
  }
}
