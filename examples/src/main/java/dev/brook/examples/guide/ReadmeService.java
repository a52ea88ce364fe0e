package dev.brook.examples.guide;

import static dev.brook.redis.Redis.channel;

import dev.brook.ExceptionMiddleware;
import dev.brook.Header;
import dev.brook.Publish;
import dev.brook.Router;
import dev.brook.Subscribe;
import dev.brook.redis.RedisBroker;
import jakarta.validation.Valid;
import jakarta.validation.constraints.Positive;
import java.time.Duration;
import java.util.List;

/** The README's "Services" example, kept here so it compiles and runs with the build. */
public final class ReadmeService {

  record Invoice(@Positive long id) {}

  record Receipt(long invoiceId, String tenant) {}

  record Problem(String message) {}

  /** Returns the receipt and the problem the example's two requests get. */
  public static List<Object> run(String url) {
    try (RedisBroker broker = RedisBroker.create(url)) {
      // region:service
      class Billing {
        @Subscribe(channel = "invoices")
        @Publish(channel = "receipts")
        Receipt onInvoice(@Valid Invoice invoice, @Header("tenant") String tenant) {
          if (tenant.isBlank()) throw new IllegalArgumentException("no tenant");
          return new Receipt(invoice.id(), tenant);
        }
      }
      broker.middleware(ExceptionMiddleware.builder()
          .reply(IllegalArgumentException.class, (e, ctx) -> new Problem(e.getMessage())).build());
      broker.include(Router.withPrefix("billing.").include(new Billing()));   // billing.invoices → billing.receipts
      broker.start();

      Receipt receipt = broker.publisher(channel("billing.invoices")).withHeader("tenant", "acme")
          .request(new Invoice(7), Receipt.class, Duration.ofSeconds(2));
      // endregion
      Problem problem = broker.publisher(channel("billing.invoices")).withHeader("tenant", " ")
          .request(new Invoice(8), Problem.class, Duration.ofSeconds(2));
      return List.of(receipt, problem);
    }
  }

  private ReadmeService() {}
}
