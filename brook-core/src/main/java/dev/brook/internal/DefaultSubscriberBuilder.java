package dev.brook.internal;

import dev.brook.Destination;
import dev.brook.Handler;
import dev.brook.SubscriberBuilder;
import dev.brook.Subscription;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/** Collects one subscription's options; {@code handle} registers it. */
final class DefaultSubscriberBuilder implements SubscriberBuilder {

  private final BrokerEngine engine;
  private final Destination destination;
  private final List<Destination> publishTo = new ArrayList<>();
  private String id;
  private int concurrency = 1;
  private boolean concurrencySet;

  DefaultSubscriberBuilder(BrokerEngine engine, Destination destination) {
    this.engine = engine;
    this.destination = destination;
  }

  @Override
  public SubscriberBuilder id(String id) {
    Objects.requireNonNull(id, "id");
    if (id.isBlank()) {
      throw new IllegalArgumentException("A subscription id must not be blank; leave it out to use '" + destination.key() + "'.");
    }
    if (this.id != null) {
      throw new IllegalStateException("id was already set to '" + this.id + "'; set it once.");
    }
    this.id = id;
    return this;
  }

  @Override
  public SubscriberBuilder publishTo(Destination... destinations) {
    for (Destination d : destinations) {
      publishTo.add(Objects.requireNonNull(d, "publishTo destination"));
    }
    return this;
  }

  @Override
  public SubscriberBuilder concurrency(int maxInFlight) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("concurrency must be at least 1, was " + maxInFlight + ".");
    }
    if (concurrencySet) {
      throw new IllegalStateException("concurrency was already set to " + concurrency + "; set it once.");
    }
    concurrencySet = true;
    this.concurrency = maxInFlight;
    return this;
  }

  @Override
  public <T> Subscription handle(Class<T> payloadType, Handler<? super T> handler) {
    return handle((Type) payloadType, handler);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> Subscription handle(Type payloadType, Handler<? super T> handler) {
    Objects.requireNonNull(payloadType, "payloadType");
    Objects.requireNonNull(handler, "handler");
    String subscriptionId = id != null ? id : destination.key();
    return engine.register(subscriptionId, destination, payloadType, (Handler<Object>) handler, publishTo, concurrency);
  }
}
