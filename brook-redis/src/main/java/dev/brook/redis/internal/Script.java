package dev.brook.redis.internal;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.cluster.api.async.RedisClusterAsyncCommands;
import io.lettuce.core.cluster.api.sync.RedisClusterCommands;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;

/**
 * A Lua script called by its SHA-1 ({@code EVALSHA}), sent in full ({@code EVAL}) only when Redis
 * does not know it yet (first call, or after a restart or {@code SCRIPT FLUSH}). Saves sending and
 * hashing the script's text on every call of the hot paths (a move and an ack per batch). On a
 * cluster both go to the node of the first key (every script's keys share one slot), so a node that
 * does not know the script yet is sent it by the same route.
 */
public final class Script {

  private final String body;
  private final String sha;

  public Script(String body) {
    this.body = body;
    try {
      this.sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(body.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-1 is required by every Java runtime", e);
    }
  }

  public <T> T call(RedisClusterCommands<byte[], byte[]> redis, ScriptOutputType type, byte[][] keys, byte[]... args) {
    try {
      return redis.evalsha(sha, type, keys, args);
    } catch (RedisNoScriptException e) {
      return redis.eval(body, type, keys, args);
    }
  }

  public <T> CompletionStage<T> call(RedisClusterAsyncCommands<byte[], byte[]> redis, ScriptOutputType type, byte[][] keys, byte[]... args) {
    CompletionStage<T> first = redis.evalsha(sha, type, keys, args);
    return first.handle((value, error) -> {
      Throwable e = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
      if (e == null) {
        return CompletableFuture.completedFuture(value);
      }
      if (e instanceof RedisNoScriptException) {
        return redis.<T>eval(body, type, keys, args);
      }
      return CompletableFuture.<T>failedFuture(e);
    }).thenCompose(stage -> stage);
  }
}
