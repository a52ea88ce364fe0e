package dev.brook.spring.boot.autoconfigure;

import dev.brook.console.BrookConsole;
import dev.brook.redis.RedisBroker;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBooleanProperty;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.context.annotation.Bean;
import org.springframework.core.io.Resource;
import org.springframework.core.io.ResourceLoader;
import org.springframework.web.servlet.function.RequestPredicates;
import org.springframework.web.servlet.function.RouterFunction;
import org.springframework.web.servlet.function.RouterFunctions;
import org.springframework.web.servlet.function.ServerRequest;
import org.springframework.web.servlet.function.ServerResponse;

/**
 * Mounts the Brook console in a Spring MVC application when {@code brook-console} is on the class
 * path and {@code brook.console.enabled=true}: the page at {@code brook.console.path} (default
 * {@code /brook/console}) and its JSON API below it. The routes hand each request to {@link
 * BrookConsole#respond}, the same code the JDK handler and {@code brook console} run, through the
 * application's {@link RedisBroker} (its command connection; the console closes nothing of it; with
 * several brokers, the primary one, else no console).
 * {@code brook.console.read-only} and {@code brook.console.token} are the console's read-only mode
 * and bearer token; without a token an action is refused unless it arrives on a loopback address.
 */
@AutoConfiguration(after = BrookAutoConfiguration.class)
@ConditionalOnClass({BrookConsole.class, RouterFunction.class})
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
@ConditionalOnSingleCandidate(RedisBroker.class)
@ConditionalOnBooleanProperty(name = "brook.console.enabled")
public class BrookConsoleAutoConfiguration {

  @Bean(destroyMethod = "close")
  @ConditionalOnMissingBean
  BrookConsole brookConsole(RedisBroker broker, BrookProperties properties, ResourceLoader resources) {
    properties.validate();
    BrookProperties.Console c = properties.getConsole();
    BrookConsole.Builder b = BrookConsole.builder().broker(broker).readOnly(c.isReadOnly()).token(c.getToken());
    for (String location : c.getAsyncapi()) {
      Resource r = resources.getResource(location);
      try {
        b.asyncApi(r.getContentAsString(StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new IllegalArgumentException("brook.console.asyncapi: cannot read '" + location + "' (" + e.getMessage()
            + "); name an AsyncAPI JSON document, e.g. classpath:asyncapi.json.", e);
      }
    }
    return b.build();
  }

  @Bean
  @ConditionalOnMissingBean(name = "brookConsoleRoutes")
  RouterFunction<ServerResponse> brookConsoleRoutes(BrookConsole console, BrookProperties properties) {
    String path = properties.getConsole().getPath();
    return RouterFunctions.route(RequestPredicates.path(path).or(RequestPredicates.path(path + "/**")),
        request -> respond(console, path, request));
  }

  private static ServerResponse respond(BrookConsole console, String mount, ServerRequest request) {
    var servlet = request.servletRequest();
    byte[] body;
    try {
      body = "POST".equals(request.method().name()) ? servlet.getInputStream().readAllBytes() : new byte[0];
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String contextPath = request.requestPath().contextPath().value();
    BrookConsole.Response r = console.respond(new BrookConsole.Request(request.method().name(), contextPath + mount,
        request.requestPath().value(), servlet.getQueryString(), servlet.getHeader("Authorization"),
        loopback(servlet.getLocalAddr()), body));
    ServerResponse.BodyBuilder out = ServerResponse.status(r.status());
    r.headers().forEach(out::header);
    return r.body().length == 0 ? out.build() : out.body(r.body());
  }

  /** Whether the request arrived on a loopback address of this host (the connector's local address). */
  private static boolean loopback(String localAddress) {
    if (localAddress == null || localAddress.isEmpty()) {
      return false;
    }
    try {
      // The servlet container gives the IP literal, which getByName parses without a lookup.
      return InetAddress.getByName(localAddress).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
  }
}
