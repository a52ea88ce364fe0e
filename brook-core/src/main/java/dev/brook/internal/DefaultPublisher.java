package dev.brook.internal;

import dev.brook.Destination;
import dev.brook.Message;
import dev.brook.Middleware;
import dev.brook.Publisher;
import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/** A {@link Publisher}: a target and default headers, immutable. */
final class DefaultPublisher implements Publisher {

  private final PublisherTarget target;
  private final Map<String, String> headers;

  DefaultPublisher(PublisherTarget target, Map<String, String> headers) {
    this.target = target;
    this.headers = headers;
  }

  @Override
  public Destination destination() {
    return target.destination();
  }

  @Override
  public Map<String, String> headers() {
    return headers;
  }

  @Override
  public Publisher withHeaders(Map<String, String> more) {
    return new DefaultPublisher(target, merge(more));
  }

  private Map<String, String> merge(Map<String, String> more) {
    Objects.requireNonNull(more, "headers");
    if (more.isEmpty()) {
      return headers;
    }
    if (headers.isEmpty()) {
      return Collections.unmodifiableMap(new LinkedHashMap<>(more));
    }
    Map<String, String> all = new LinkedHashMap<>(headers);
    all.putAll(more);
    return Collections.unmodifiableMap(all);
  }

  private static Middleware[] middlewares(PublisherTarget.Bound b) {
    return b.stack().with(b.engine().middlewares());
  }

  @Override
  public void publish(Object payload) {
    publish(payload, Map.of());
  }

  @Override
  public void publish(Object payload, Map<String, String> extra) {
    PublisherTarget.Bound b = target.bound();
    b.engine().publishing().publish(payload, b.destination(), merge(extra), middlewares(b));
  }

  @Override
  public CompletableFuture<Void> publishAsync(Object payload) {
    return publishAsync(payload, Map.of());
  }

  @Override
  public CompletableFuture<Void> publishAsync(Object payload, Map<String, String> extra) {
    PublisherTarget.Bound b = target.bound();
    return UserFuture.of(b.engine().publishing().dispatch(payload, b.destination(), merge(extra), middlewares(b)));
  }

  @Override
  public void publishBatch(Collection<?> payloads) {
    PublisherTarget.Bound b = target.bound();
    b.engine().publishing().publishBatch(payloads, b.destination(), headers, middlewares(b));
  }

  @Override
  public <R> R request(Object payload, Class<R> replyType, Duration timeout) {
    PublisherTarget.Bound b = target.bound();
    return b.engine().publishing().request(payload, b.destination(), replyType, timeout, headers, middlewares(b));
  }

  @Override
  public <R> CompletableFuture<R> requestAsync(Object payload, Class<R> replyType, Duration timeout) {
    PublisherTarget.Bound b = target.bound();
    return b.engine().publishing().requestAsync(payload, b.destination(), replyType, timeout, headers, middlewares(b));
  }

  @Override
  public <R> R request(Object payload, Map<String, String> extra, Class<R> replyType, Duration timeout) {
    PublisherTarget.Bound b = target.bound();
    return b.engine().publishing().request(payload, b.destination(), replyType, timeout, merge(extra), middlewares(b));
  }

  @Override
  public <R> CompletableFuture<R> requestAsync(Object payload, Map<String, String> extra, Class<R> replyType,
      Duration timeout) {
    PublisherTarget.Bound b = target.bound();
    return b.engine().publishing().requestAsync(payload, b.destination(), replyType, timeout, merge(extra),
        middlewares(b));
  }

  @Override
  public <R> Message<R> requestMessage(Object payload, Map<String, String> extra, Class<R> replyType, Duration timeout) {
    PublisherTarget.Bound b = target.bound();
    return b.engine().publishing().request(payload, b.destination(), replyType, timeout, merge(extra), middlewares(b),
        true);
  }

  @Override
  public <R> CompletableFuture<Message<R>> requestMessageAsync(Object payload, Map<String, String> extra,
      Class<R> replyType, Duration timeout) {
    PublisherTarget.Bound b = target.bound();
    return b.engine().publishing().requestAsync(payload, b.destination(), replyType, timeout, merge(extra),
        middlewares(b), true);
  }

  @Override
  public String toString() {
    return "Publisher[" + destination().key() + (headers.isEmpty() ? "" : " " + headers) + "]";
  }
}
