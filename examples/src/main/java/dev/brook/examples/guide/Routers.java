package dev.brook.examples.guide;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;

import dev.brook.Middleware;
import dev.brook.Publisher;
import dev.brook.Router;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** docs/guide.md, "Routers". */
public final class Routers {

  record Invoice(long id, long cents) {}

  /** Declares a nested router, includes it twice and sends an invoice through it. */
  public static List<String> run(String url) throws InterruptedException {
    List<String> out = new CopyOnWriteArrayList<>();
    CountDownLatch paid = new CountDownLatch(1);
    Middleware audit = new Middleware() {};
    try (RedisBroker broker = RedisBroker.create(url)) {
      // region:router
      Router billing = Router.withPrefix("billing.").middleware(audit);
      billing.subscriber(channel("invoices"))                  // reads billing.invoices
          .publishTo(channel("paid"))                          // publishes to billing.paid
          .handle(Invoice.class, (invoice, ctx) -> "paid " + invoice.id());
      Publisher invoices = billing.publisher(channel("invoices"));

      Router v1 = Router.withPrefix("v1.").include(billing);   // v1.billing.invoices, v1.billing.paid
      List<Subscription> registered = broker.include(v1);
      broker.include(v1);                                       // again: nothing changes
      // endregion
      broker.subscriber(channel("v1.billing.paid")).handle(String.class, (s, ctx) -> {
        out.add(s);
        paid.countDown();
        return null;
      });
      broker.start();
      invoices.publish(new Invoice(7, 1200));
      paid.await(10, TimeUnit.SECONDS);
      out.add(registered.get(0).id() + " " + registered.get(0).state());
      out.add("subscriptions: " + broker.subscriptions().size());

      CountDownLatch ran = new CountDownLatch(1);
      // region:dynamic
      Router tenants = Router.withPrefix("tenant.");
      broker.include(tenants);                                  // the broker runs already
      tenants.subscriber(list("acme.jobs"))                     // live at once: reads tenant.acme.jobs
          .handle(String.class, (job, ctx) -> {
            out.add("ran " + job);
            ran.countDown();
            return null;
          });
      // endregion
      broker.publish("j1", list("tenant.acme.jobs"));
      ran.await(10, TimeUnit.SECONDS);
    }
    return out;
  }

  private Routers() {}
}
