package dev.brook.spring.boot.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

import dev.brook.asyncapi.AsyncApi;
import dev.brook.spring.boot.autoconfigure.Handlers.Orders;
import dev.brook.testing.RedisServer;
import dev.brook.testing.WithRedisServer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.boot.test.context.runner.WebApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.test.web.servlet.MockMvc;
import org.springframework.test.web.servlet.setup.MockMvcBuilders;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.ServerResponse;

/** The AsyncAPI routes: served in a servlet web application with brook-asyncapi, at the configured path. */
@WithRedisServer
class BrookAsyncApiAutoConfigurationTest {

  private WebApplicationContextRunner web;
  private String url;

  @Configuration(proxyBeanMethods = false)
  static class OrdersConfig {
    @Bean
    Orders orders() {
      return new Orders();
    }
  }

  @BeforeEach
  void setUp(RedisServer redis) {
    url = redis.url();
    web = new WebApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(BrookAutoConfiguration.class, BrookAsyncApiAutoConfiguration.class))
        .withUserConfiguration(OrdersConfig.class)
        .withPropertyValues("brook.redis.url=" + url);
  }

  @Test
  @SuppressWarnings("unchecked")
  void theDocumentAndPageAreServedAtTheConfiguredPath() {
    web.withPropertyValues("brook.asyncapi.path=/docs/events", "brook.asyncapi.title=Orders").run(ctx -> {
      RouterFunction<ServerResponse> routes = ctx.getBean("brookAsyncApiRoutes", RouterFunction.class);
      MockMvc mvc = MockMvcBuilders.routerFunctions(routes).build();
      mvc.perform(get("/docs/events.json")).andExpect(status().isOk())
          .andExpect(content().string(org.hamcrest.Matchers.containsString("\"title\": \"Orders\"")))
          .andExpect(content().string(org.hamcrest.Matchers.containsString("\"address\": \"orders\"")));
      mvc.perform(get("/docs/events.yaml")).andExpect(status().isOk())
          .andExpect(content().string(org.hamcrest.Matchers.containsString("asyncapi: 3.0.0")));
      mvc.perform(get("/docs/events")).andExpect(status().isOk())
          .andExpect(content().contentTypeCompatibleWith("text/html"));
      mvc.perform(get("/asyncapi.json")).andExpect(status().isNotFound());
    });
  }

  @Test
  void offWhenDisabledWithoutBrookAsyncApiOrOutsideAWebApplication() {
    web.withPropertyValues("brook.asyncapi.enabled=false")
        .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean("brookAsyncApiRoutes"));
    web.withClassLoader(new FilteredClassLoader(AsyncApi.class))
        .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean("brookAsyncApiRoutes"));
    new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(BrookAutoConfiguration.class, BrookAsyncApiAutoConfiguration.class))
        .withPropertyValues("brook.redis.url=" + url)
        .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean("brookAsyncApiRoutes"));
  }
}
