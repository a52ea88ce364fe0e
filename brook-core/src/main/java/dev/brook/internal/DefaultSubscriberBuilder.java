package dev.brook.internal;

import dev.brook.AckPolicy;
import dev.brook.BatchSubscriberBuilder;
import dev.brook.Destination;
import dev.brook.Handler;
import dev.brook.FilteredSubscriberBuilder;
import dev.brook.MessageContext;
import dev.brook.MessageDecoder;
import dev.brook.MessageParser;
import dev.brook.Middleware;
import dev.brook.PullSubscription;
import dev.brook.SubscriberBuilder;
import dev.brook.Subscription;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Collects one subscription's options; {@code handle} hands them to the registrar: the engine (a
 * broker's subscriber) or a router (which registers them when it is included).
 */
final class DefaultSubscriberBuilder implements SubscriberBuilder {

  private final Function<SubscriptionSpec, Subscription> registrar;
  private final Destination destination;
  private final List<Destination> publishTo = new ArrayList<>();
  private final List<Middleware> middlewares = new ArrayList<>();
  private final Set<String> set = new HashSet<>();
  private String id;
  private int concurrency = 1;
  private AckPolicy ackPolicy;
  private int batchSize = 1;
  private final List<Destination> publishBatchTo = new ArrayList<>();
  private boolean noReply;
  private MessageParser parser;
  private MessageDecoder decoder;

  /** True for a broker's builder: pull subscriptions are declared on brokers, not on routers. */
  private final boolean pulls;

  DefaultSubscriberBuilder(Function<SubscriptionSpec, Subscription> registrar, Destination destination) {
    this(registrar, destination, false);
  }

  DefaultSubscriberBuilder(Function<SubscriptionSpec, Subscription> registrar, Destination destination, boolean pulls) {
    this.registrar = registrar;
    this.destination = destination;
    this.pulls = pulls;
  }

  private void once(String option, Object current) {
    if (!set.add(option)) {
      throw new IllegalStateException(option + " was already set to " + current + " for " + destination.key()
          + "; set each option once.");
    }
  }

  @Override
  public SubscriberBuilder id(String id) {
    Objects.requireNonNull(id, "id");
    if (id.isBlank()) {
      throw new IllegalArgumentException("A subscription id must not be blank; leave it out to use '" + destination.key() + "'.");
    }
    once("id", "'" + this.id + "'");
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
  public SubscriberBuilder publishBatchTo(Destination... destinations) {
    for (Destination d : destinations) {
      publishBatchTo.add(Objects.requireNonNull(d, "publishBatchTo destination"));
    }
    return this;
  }

  @Override
  public SubscriberBuilder noReply() {
    this.noReply = true;
    return this;
  }

  private java.time.Duration timeout;
  private dev.brook.Backoff retry;

  @Override
  public SubscriberBuilder retry(dev.brook.Backoff backoff) {
    this.retry = Objects.requireNonNull(backoff, "backoff");
    return this;
  }

  @Override
  public SubscriberBuilder timeout(java.time.Duration timeout) {
    Objects.requireNonNull(timeout, "timeout");
    if (timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("timeout " + timeout + " of " + destination.key() + " is not positive.");
    }
    this.timeout = timeout;
    return this;
  }

  /** The middlewares given, then the retry link, and the timeout innermost (around the handler alone). */
  private List<Middleware> chain(String idOrKey) {
    if (timeout == null && retry == null) {
      return List.copyOf(middlewares);
    }
    List<Middleware> all = new ArrayList<>(middlewares);
    if (retry != null) {
      all.add(new RetryLink(retry));
    }
    if (timeout != null) {
      all.add(new HandlerTimeout(idOrKey, timeout));
    }
    return List.copyOf(all);
  }

  @Override
  public SubscriberBuilder middleware(Middleware... middlewares) {
    for (Middleware m : middlewares) {
      this.middlewares.add(Objects.requireNonNull(m, "middleware"));
    }
    return this;
  }

  @Override
  public SubscriberBuilder concurrency(int maxInFlight) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("concurrency must be at least 1, was " + maxInFlight + ".");
    }
    once("concurrency", concurrency);
    this.concurrency = maxInFlight;
    return this;
  }

  @Override
  public SubscriberBuilder ackPolicy(AckPolicy policy) {
    Objects.requireNonNull(policy, "ackPolicy");
    once("ackPolicy", ackPolicy);
    this.ackPolicy = policy;
    return this;
  }

  @Override
  public SubscriberBuilder parser(MessageParser parser) {
    Objects.requireNonNull(parser, "parser");
    once("parser", this.parser);
    this.parser = parser;
    return this;
  }

  @Override
  public SubscriberBuilder decoder(MessageDecoder decoder) {
    Objects.requireNonNull(decoder, "decoder");
    once("decoder", this.decoder);
    this.decoder = decoder;
    return this;
  }

  @Override
  public BatchSubscriberBuilder batch(int maxRecords) {
    if (maxRecords < 1) {
      throw new IllegalArgumentException("batch needs maxRecords of at least 1, was " + maxRecords + ".");
    }
    once("batch", batchSize);
    this.batchSize = maxRecords;
    return new BatchSubscriberBuilder() {
      @Override
      public <T> Subscription handle(Class<T> itemType, Handler<? super List<T>> handler) {
        return register(itemType, handler, true);
      }

      @Override
      public <T> Subscription handle(Type itemType, Handler<? super List<T>> handler) {
        return register(itemType, handler, true);
      }
    };
  }

  @Override
  public <T> Subscription handle(Class<T> payloadType, Handler<? super T> handler) {
    return handle((Type) payloadType, handler);
  }

  @Override
  public <T> Subscription handle(Type payloadType, Handler<? super T> handler) {
    return register(payloadType, handler, false);
  }

  @Override
  public <T> FilteredSubscriberBuilder filter(Predicate<? super MessageContext> when, Class<T> payloadType,
      Handler<? super T> handler) {
    return filter(when, (Type) payloadType, handler);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> FilteredSubscriberBuilder filter(Predicate<? super MessageContext> when, Type payloadType,
      Handler<? super T> handler) {
    if (set.contains("batch")) {
      throw new IllegalStateException("Filters of " + destination.key() + " take one message each; leave out batch(...).");
    }
    List<FilterHandler.Filter> filters = new ArrayList<>();
    FilteredSubscriberBuilder builder = new FilteredSubscriberBuilder() {
      @Override
      public <U> FilteredSubscriberBuilder filter(Predicate<? super MessageContext> w, Class<U> type, Handler<? super U> h) {
        return filter(w, (Type) type, h);
      }

      @Override
      public <U> FilteredSubscriberBuilder filter(Predicate<? super MessageContext> w, Type type, Handler<? super U> h) {
        filters.add(new FilterHandler.Filter(Objects.requireNonNull(w, "filter"), Objects.requireNonNull(type, "payloadType"),
            (Handler<Object>) Objects.requireNonNull(h, "handler")));
        return this;
      }

      @Override
      public <U> Subscription handle(Class<U> type, Handler<? super U> h) {
        return handle((Type) type, h);
      }

      @Override
      public <U> Subscription handle(Type type, Handler<? super U> h) {
        filter(ctx -> true, type, h);
        return register();
      }

      @Override
      public Subscription register() {
        return DefaultSubscriberBuilder.this.register(byte[].class, new FilterHandler(filters), false);
      }
    };
    return builder.filter(when, payloadType, handler);
  }

  @Override
  public <T> PullSubscription<T> pull(Class<T> payloadType) {
    return pull((Type) payloadType);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> PullSubscription<T> pull(Type payloadType) {
    if (!pulls) {
      throw new UnsupportedOperationException("A pull subscription of " + destination.key() + " is declared on a broker "
          + "(broker.subscriber(d).pull(...)), not on a router: the application pulls from that broker's subscription.");
    }
    if (set.contains("batch") || set.contains("concurrency") || !publishTo.isEmpty()) {
      throw new IllegalStateException("A pull subscription of " + destination.key() + " hands out one message at a time "
          + "to its callers and publishes nothing; leave out batch(...), concurrency(...) and publishTo(...).");
    }
    return (PullSubscription<T>) register(payloadType, new PullHandoff(), false);
  }

  @SuppressWarnings("unchecked")
  private Subscription register(Type payloadType, Handler<?> handler, boolean batch) {
    Objects.requireNonNull(payloadType, "payloadType");
    Objects.requireNonNull(handler, "handler");
    return registrar.apply(new SubscriptionSpec(id, destination, payloadType, (Handler<Object>) handler,
        List.copyOf(publishTo), concurrency, ackPolicy, batch ? batchSize : 0, chain(id != null ? id : destination.key()), null, null,
        List.copyOf(publishBatchTo), noReply, SubscriptionHooks.of(null, parser, decoder)));
  }
}
