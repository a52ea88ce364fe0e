package dev.brook.internal;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.Middleware;
import dev.brook.PublishCommand;
import dev.brook.Publisher;
import dev.brook.RequestTimeoutException;
import dev.brook.spi.Frame;
import java.lang.reflect.Type;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * What a broker sends: publishing (one message, asynchronously, a batch) and the entry points of
 * request/reply, whose reply side is {@link Requests}. Every message passes a publish scope (the
 * middlewares given, {@link PublishStep}), then the codec and the engine's transport as it is at
 * that moment.
 *
 * <p>Thread-safe and stateless: callers are any application thread and the subscriptions' workers
 * (publishing a handler's result).
 */
final class Publishing {

  private final BrokerEngine engine;
  private final Requests requests;

  Publishing(BrokerEngine engine, Requests requests) {
    this.engine = engine;
    this.requests = requests;
  }

  Publisher publisher(Destination destination) {
    Objects.requireNonNull(destination, "destination");
    return new DefaultPublisher(PublisherTarget.of(engine, destination), Map.of());
  }

  /**
   * Sends one message through the publish scope ({@code middlewares}, then encode and send). With
   * no middleware no command object is made. Exceptions of encoding or of the transport's checks
   * are thrown here; the future completes when the server has taken the message.
   */
  CompletableFuture<Void> dispatch(Object payload, Destination destination, Map<String, String> headers,
      Middleware[] middlewares) {
    Objects.requireNonNull(destination, "destination");
    Objects.requireNonNull(headers, "headers");
    engine.ensurePublishing();
    engine.transport().connect();
    if (middlewares.length == 0) {
      return send(payload, destination, headers);
    }
    return PublishStep.run(middlewares, new PublishCommand(payload, destination, headers), this::send);
  }

  private CompletableFuture<Void> send(PublishCommand command) {
    return send(command.payload(), command.destination(), command.headers());
  }

  private CompletableFuture<Void> send(Object payload, Destination destination, Map<String, String> headers) {
    Frame frame = engine.codec().encode(payload, headers);
    return engine.transport().send(destination, frame);
  }

  /** Dependent stages of the returned future never run on the transport's I/O thread ({@link UserFuture}). */
  CompletableFuture<Void> publishAsync(Object payload, Destination destination, Map<String, String> headers,
      Middleware[] middlewares) {
    return UserFuture.of(dispatch(payload, destination, headers, middlewares));
  }

  /** Publishes through the given middlewares (the broker's, a subscription's or a router publisher's) and waits. */
  void publish(Object payload, Destination destination, Map<String, String> headers, Middleware[] middlewares) {
    await(dispatch(payload, destination, headers, middlewares), destination);
  }

  /**
   * Every item passes the publish scope on its own; the terminal only encodes it into the batch,
   * which is sent in one go once all items passed.
   */
  void publishBatch(Collection<?> payloads, Destination destination, Map<String, String> headers,
      Middleware[] middlewares) {
    Objects.requireNonNull(payloads, "payloads");
    Objects.requireNonNull(destination, "destination");
    engine.ensurePublishing();
    engine.transport().connect();
    Codec codec = engine.codec();
    List<Frame> frames = new ArrayList<>(payloads.size());
    for (Object p : payloads) {
      if (middlewares.length == 0) {
        frames.add(codec.encode(p, headers));
      } else {
        await(PublishStep.run(middlewares, new PublishCommand(p, destination, headers), c -> {
          frames.add(codec.encode(c.payload(), c.headers()));
          return CompletableFuture.completedFuture(null);
        }), destination);
      }
    }
    await(engine.transport().sendBatch(destination, frames), destination);
  }

  <R> CompletableFuture<R> requestAsync(Object payload, Destination destination, Type replyType, Duration timeout,
      Map<String, String> headers, Middleware[] middlewares) {
    prepareRequest(destination, replyType, timeout);
    return requests.send(payload, destination, replyType, timeout, headers, middlewares);
  }

  <R> R request(Object payload, Destination destination, Type replyType, Duration timeout, Map<String, String> headers,
      Middleware[] middlewares) {
    prepareRequest(destination, replyType, timeout);
    try {
      @SuppressWarnings("unchecked")
      R reply = (R) requests.call(payload, destination, replyType, timeout, headers, middlewares);
      return reply;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrookException("Interrupted while waiting for the reply from " + destination.key() + ".", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof RequestTimeoutException t) {
        // A new exception, so its stack trace shows the caller rather than the timer.
        throw new RequestTimeoutException(t.destination(), t.timeout(), t.correlationId());
      }
      if (cause instanceof BrookException b) {
        throw b;
      }
      throw new BrookException("The request to " + destination.key() + " failed: " + cause.getMessage(), cause);
    }
  }

  private void prepareRequest(Destination destination, Type replyType, Duration timeout) {
    Objects.requireNonNull(destination, "destination");
    Objects.requireNonNull(replyType, "replyType");
    Objects.requireNonNull(timeout, "timeout");
    engine.ensureOpen("send a request with");
    engine.transport().connect();
  }

  void await(CompletableFuture<Void> f, Destination destination) {
    try {
      f.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrookException("Interrupted while publishing to " + destination.key() + ".", e);
    } catch (ExecutionException | CompletionException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof BrookException b) {
        throw b;
      }
      throw new BrookException("Publishing to " + destination.key() + " on " + engine.transport().describe() + " failed: "
          + cause.getMessage(), cause);
    }
  }
}
