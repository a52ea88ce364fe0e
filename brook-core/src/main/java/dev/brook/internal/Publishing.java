package dev.brook.internal;

import dev.brook.BrookException;
import dev.brook.Destination;
import dev.brook.Middleware;
import dev.brook.Pipeline;
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
import java.util.function.Consumer;

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

  /**
   * Sends one message with options through the publish scope: the middlewares see it as any
   * publish (payload, destination, headers); the options go with it to the transport.
   */
  CompletableFuture<dev.brook.PublishResult> dispatch(Object payload, Destination destination,
      Map<String, String> headers, dev.brook.PublishOptions options, Middleware[] middlewares) {
    Objects.requireNonNull(destination, "destination");
    Objects.requireNonNull(headers, "headers");
    Objects.requireNonNull(options, "options");
    engine.ensurePublishing();
    engine.transport().connect();
    if (middlewares.length == 0) {
      return engine.transport().send(destination, engine.codec().encode(payload, headers), options);
    }
    dev.brook.PublishResult[] result = new dev.brook.PublishResult[1];
    return PublishStep.run(middlewares, new PublishCommand(payload, destination, headers),
        c -> engine.transport().send(c.destination(), engine.codec().encode(c.payload(), c.headers()), options)
            .thenAccept(r -> result[0] = r))
        .thenApply(v -> result[0] == null ? dev.brook.PublishResult.PUBLISHED : result[0]);
  }

  /** Publishes with options and waits for the result. */
  dev.brook.PublishResult publish(Object payload, Destination destination, Map<String, String> headers,
      dev.brook.PublishOptions options, Middleware[] middlewares) {
    CompletableFuture<dev.brook.PublishResult> f = dispatch(payload, destination, headers, options, middlewares);
    await(f.thenApply(r -> null), destination);
    return f.join();
  }

  /** Publishes with options without waiting; stages never run on the transport's I/O thread. */
  CompletableFuture<dev.brook.PublishResult> publishAsync(Object payload, Destination destination,
      Map<String, String> headers, dev.brook.PublishOptions options, Middleware[] middlewares) {
    return UserFuture.of(dispatch(payload, destination, headers, options, middlewares));
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

  /**
   * Runs the callback, which queues messages; then every message passes the publish scope on its own
   * (the terminal only encodes it, at the destination the command names then) and all are handed
   * to the transport's pipeline in one go.
   */
  CompletableFuture<Void> pipelineAsync(Consumer<Pipeline> commands, Middleware[] middlewares) {
    Objects.requireNonNull(commands, "commands");
    engine.ensurePublishing();
    Queued queued = new Queued();
    commands.accept(queued);
    queued.done = true;
    if (queued.commands.isEmpty()) {
      return UserFuture.of(CompletableFuture.completedFuture(null));
    }
    engine.transport().connect();
    Codec codec = engine.codec();
    int n = queued.commands.size();
    List<Destination> destinations = new ArrayList<>(n);
    List<Frame> frames = new ArrayList<>(n);
    for (PublishCommand c : queued.commands) {
      if (middlewares.length == 0) {
        destinations.add(c.destination());
        frames.add(codec.encode(c.payload(), c.headers()));
      } else {
        await(PublishStep.run(middlewares, c, changed -> {
          destinations.add(Objects.requireNonNull(changed.destination(), "destination"));
          frames.add(codec.encode(changed.payload(), changed.headers()));
          return CompletableFuture.completedFuture(null);
        }), c.destination());
      }
    }
    return UserFuture.of(engine.transport().sendPipeline(destinations, frames));
  }

  void pipeline(Consumer<Pipeline> commands, Middleware[] middlewares) {
    CompletableFuture<Void> sent = pipelineAsync(commands, middlewares);
    try {
      sent.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrookException("Interrupted while waiting for a pipeline of publishes.", e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause() instanceof CompletionException c && c.getCause() != null ? c.getCause() : e.getCause();
      if (cause instanceof BrookException b) {
        throw b;
      }
      throw new BrookException("A pipeline of publishes on " + engine.transport().describe() + " failed: "
          + cause.getMessage() + ". Commands before and after the failed one still took effect.", cause);
    }
  }

  /** The pipeline a callback fills; refuses use after the callback returned. */
  private static final class Queued implements Pipeline {
    final List<PublishCommand> commands = new ArrayList<>();
    boolean done;

    @Override
    public Pipeline publish(Object payload, Destination destination, Map<String, String> headers) {
      if (done) {
        throw new IllegalStateException("This pipeline was sent already: queue messages inside the pipeline callback only.");
      }
      commands.add(new PublishCommand(payload, Objects.requireNonNull(destination, "destination"),
          Objects.requireNonNull(headers, "headers")));
      return this;
    }
  }

  <R> CompletableFuture<R> requestAsync(Object payload, Destination destination, Type replyType, Duration timeout,
      Map<String, String> headers, Middleware[] middlewares) {
    return requestAsync(payload, destination, replyType, timeout, headers, middlewares, false);
  }

  /**
   * @param whole true for the whole reply (a {@code Message} of the decoded payload), false for the payload alone
   */
  <R> CompletableFuture<R> requestAsync(Object payload, Destination destination, Type replyType, Duration timeout,
      Map<String, String> headers, Middleware[] middlewares, boolean whole) {
    prepareRequest(destination, replyType, timeout);
    Objects.requireNonNull(headers, "headers");
    return requests.send(payload, destination, replyType, timeout, headers, middlewares, whole);
  }

  <R> R request(Object payload, Destination destination, Type replyType, Duration timeout, Map<String, String> headers,
      Middleware[] middlewares) {
    return request(payload, destination, replyType, timeout, headers, middlewares, false);
  }

  /** @param whole true for the whole reply (a {@code Message} of the decoded payload), false for the payload alone */
  <R> R request(Object payload, Destination destination, Type replyType, Duration timeout, Map<String, String> headers,
      Middleware[] middlewares, boolean whole) {
    prepareRequest(destination, replyType, timeout);
    Objects.requireNonNull(headers, "headers");
    try {
      @SuppressWarnings("unchecked")
      R reply = (R) requests.call(payload, destination, replyType, timeout, headers, middlewares, whole);
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

  void await(CompletableFuture<?> f, Destination destination) {
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
