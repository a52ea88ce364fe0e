package dev.brook.internal;

import dev.brook.Middleware;
import dev.brook.PublishCommand;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * One position in the publish scope, in the pattern of the consume chain's {@link ConsumeCursor}
 * (OkHttp's {@code RealInterceptorChain}): an index into an immutable array of middlewares. {@link
 * #proceed} hands the command to the middleware at {@code index} with a new step for {@code index +
 * 1}, and past the last middleware to the terminal (encode and send). Immutable, so a middleware
 * may proceed later (a future it completes afterwards) or twice.
 */
final class PublishStep implements Middleware.PublishChain {

  private final Middleware[] middlewares;
  private final int index;
  private final PublishCommand command;
  private final Function<PublishCommand, CompletableFuture<Void>> terminal;

  private PublishStep(Middleware[] middlewares, int index, PublishCommand command,
      Function<PublishCommand, CompletableFuture<Void>> terminal) {
    this.middlewares = middlewares;
    this.index = index;
    this.command = command;
    this.terminal = terminal;
  }

  /** Runs {@code command} through {@code middlewares}, then {@code terminal}. */
  static CompletableFuture<Void> run(Middleware[] middlewares, PublishCommand command,
      Function<PublishCommand, CompletableFuture<Void>> terminal) {
    return call(middlewares, 0, command, terminal);
  }

  @Override
  public PublishCommand command() {
    return command;
  }

  @Override
  public CompletableFuture<Void> proceed(PublishCommand next) {
    java.util.Objects.requireNonNull(next, "command");
    if (!next.destination().equals(command.destination())) {
      throw new IllegalArgumentException("A publish middleware changed the destination from " + command.destination().key()
          + " to " + next.destination().key() + "; middlewares may change headers and payload only. Publish to the "
          + "other destination yourself if you need both.");
    }
    return call(middlewares, index, next, terminal);
  }

  private static CompletableFuture<Void> call(Middleware[] middlewares, int index, PublishCommand command,
      Function<PublishCommand, CompletableFuture<Void>> terminal) {
    if (index >= middlewares.length) {
      return terminal.apply(command);
    }
    CompletableFuture<Void> f = middlewares[index].publish(new PublishStep(middlewares, index + 1, command, terminal));
    if (f == null) {
      throw new IllegalStateException(middlewares[index].getClass().getName()
          + ".publish returned null; return chain.proceed(command) or a failed future.");
    }
    return f;
  }
}
