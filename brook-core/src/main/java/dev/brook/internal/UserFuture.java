package dev.brook.internal;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * A future handed to the user whose own completion happens on a transport's I/O thread: a stage
 * added without an executor ({@code thenApply}, {@code whenComplete}, ...) runs on a virtual thread
 * instead of the thread that completes the future, so user code never holds up the I/O thread
 * that every connection of the broker shares. Waiting ({@code get}, {@code join}) costs nothing
 * extra; a stage costs one virtual thread when it runs. Stages derived from it behave the same.
 *
 * <p>A plain {@code CompletableFuture} completed on a virtual thread would cost a thread per
 * publish even when nobody adds a stage, which pipelined publishing does by the thousand.
 */
final class UserFuture<T> extends CompletableFuture<T> {

  private static final Executor VIRTUAL = r -> Thread.ofVirtual().name("brook-stage").start(r);

  /** A future that completes as {@code source} does. */
  static <T> CompletableFuture<T> of(CompletableFuture<T> source) {
    UserFuture<T> f = new UserFuture<>();
    source.whenComplete((v, e) -> {
      if (e != null) {
        f.completeExceptionally(e instanceof java.util.concurrent.CompletionException c && c.getCause() != null
            ? c.getCause() : e);
      } else {
        f.complete(v);
      }
    });
    return f;
  }

  @Override
  public <U> CompletableFuture<U> newIncompleteFuture() {
    return new UserFuture<>();
  }

  @Override
  public Executor defaultExecutor() {
    return VIRTUAL;
  }

  @Override
  public <U> CompletableFuture<U> thenApply(Function<? super T, ? extends U> fn) {
    return thenApplyAsync(fn);
  }

  @Override
  public CompletableFuture<Void> thenAccept(Consumer<? super T> action) {
    return thenAcceptAsync(action);
  }

  @Override
  public CompletableFuture<Void> thenRun(Runnable action) {
    return thenRunAsync(action);
  }

  @Override
  public <U, V> CompletableFuture<V> thenCombine(CompletionStage<? extends U> other,
      BiFunction<? super T, ? super U, ? extends V> fn) {
    return thenCombineAsync(other, fn);
  }

  @Override
  public <U> CompletableFuture<Void> thenAcceptBoth(CompletionStage<? extends U> other,
      BiConsumer<? super T, ? super U> action) {
    return thenAcceptBothAsync(other, action);
  }

  @Override
  public CompletableFuture<Void> runAfterBoth(CompletionStage<?> other, Runnable action) {
    return runAfterBothAsync(other, action);
  }

  @Override
  public <U> CompletableFuture<U> applyToEither(CompletionStage<? extends T> other, Function<? super T, U> fn) {
    return applyToEitherAsync(other, fn);
  }

  @Override
  public CompletableFuture<Void> acceptEither(CompletionStage<? extends T> other, Consumer<? super T> action) {
    return acceptEitherAsync(other, action);
  }

  @Override
  public CompletableFuture<Void> runAfterEither(CompletionStage<?> other, Runnable action) {
    return runAfterEitherAsync(other, action);
  }

  @Override
  public <U> CompletableFuture<U> thenCompose(Function<? super T, ? extends CompletionStage<U>> fn) {
    return thenComposeAsync(fn);
  }

  @Override
  public CompletableFuture<T> whenComplete(BiConsumer<? super T, ? super Throwable> action) {
    return whenCompleteAsync(action);
  }

  @Override
  public <U> CompletableFuture<U> handle(BiFunction<? super T, Throwable, ? extends U> fn) {
    return handleAsync(fn);
  }

  @Override
  public CompletableFuture<T> exceptionally(Function<Throwable, ? extends T> fn) {
    return exceptionallyAsync(fn);
  }

  @Override
  public CompletableFuture<T> exceptionallyCompose(Function<Throwable, ? extends CompletionStage<T>> fn) {
    return exceptionallyComposeAsync(fn);
  }
}
