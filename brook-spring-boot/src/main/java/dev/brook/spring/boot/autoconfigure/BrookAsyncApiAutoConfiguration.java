package dev.brook.spring.boot.autoconfigure;

import dev.brook.Broker;
import dev.brook.asyncapi.AsyncApi;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.http.MediaType;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.RouterFunctions;
import org.springframework.web.servlet.function.ServerResponse;

/**
 * Serves the broker's AsyncAPI document when {@code brook-asyncapi} and Spring MVC are present: the
 * HTML page at {@code brook.asyncapi.path} (default {@code /asyncapi}), the document at {@code
 * <path>.json} and {@code <path>.yaml}. Built on each request from the broker's subscriptions at
 * that moment. Off with {@code brook.asyncapi.enabled=false}.
 */
@AutoConfiguration(after = BrookAutoConfiguration.class)
@ConditionalOnClass({AsyncApi.class, RouterFunction.class, Broker.class})
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnBean(Broker.class)
@ConditionalOnBooleanProperty(name = "brook.asyncapi.enabled", matchIfMissing = true)
public class BrookAsyncApiAutoConfiguration {

  @Bean
  @ConditionalOnMissingBean(name = "brookAsyncApiRoutes")
  RouterFunction<ServerResponse> brookAsyncApiRoutes(Broker broker, BrookProperties properties, Environment env) {
    properties.validate();
    String path = properties.getAsyncapi().getPath();
    String title = properties.getAsyncapi().getTitle() != null ? properties.getAsyncapi().getTitle()
        : env.getProperty("spring.application.name", AsyncApi.DEFAULT_TITLE);
    String version = properties.getAsyncapi().getVersion();
    java.util.function.Supplier<AsyncApi> doc = () -> {
      AsyncApi.Builder b = AsyncApi.builder(broker).title(title);
      if (version != null) {
        b.version(version);
      }
      return b.build();
    };
    return RouterFunctions.route()
        .GET(path, r -> ServerResponse.ok().contentType(MediaType.TEXT_HTML).body(doc.get().toHtml()))
        .GET(path + ".json", r -> ServerResponse.ok().contentType(MediaType.APPLICATION_JSON).body(doc.get().toJson()))
        .GET(path + ".yaml", r -> ServerResponse.ok().contentType(MediaType.parseMediaType("application/yaml")).body(doc.get().toYaml()))
        .build();
  }
}
