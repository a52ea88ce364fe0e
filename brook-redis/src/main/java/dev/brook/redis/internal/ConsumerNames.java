package dev.brook.redis.internal;

import dev.brook.BrookException;
import dev.brook.redis.Redis;
import java.util.BitSet;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The names a broker's List and Stream-group consumers carry in Redis (a List's processing list
 * and heartbeat, a Stream group's consumer), and the check that no two live consumers of one broker
 * share one.
 *
 * <p>A name is the destination's explicit {@code consumer(...)}, else {@link
 * Redis#defaultConsumerName()} (host, pid, random), with {@code -<n>} for the n-th broker alive in
 * the process at once (numbers are reused once a broker closes), and {@code /<subscription id>}
 * when the id is not the destination's own key. So two subscriptions (ids) on one List never share
 * a processing list, two brokers in one process never share one either, and a subscription that
 * replaces another of the same id — after that one stopped — takes over its name: what the old one
 * left pending is handed over, not delivered to two consumers at once.
 *
 * <p>One instance per transport; {@link #close()} gives the broker number back.
 */
public final class ConsumerNames {

  /** Broker numbers in use in this process; a number is held from transport creation to close. */
  private static final BitSet BROKERS = new BitSet();

  private final int broker;
  private volatile boolean closed;
  /** Live consumers of this broker: "<key>\0<consumer name>" → subscription id. */
  private final ConcurrentHashMap<String, String> live = new ConcurrentHashMap<>();

  public ConsumerNames() {
    synchronized (BROKERS) {
      broker = BROKERS.nextClearBit(0);
      BROKERS.set(broker);
    }
  }

  /**
   * The consumer name for a subscription.
   *
   * @param explicit the destination's {@code consumer(...)}, or null for the default
   * @param destinationKey the destination's key (a subscription's default id)
   */
  public String name(String explicit, String destinationKey, String subscriptionId) {
    if (explicit != null) {
      return explicit;
    }
    String base = broker == 0 ? Redis.defaultConsumerName() : Redis.defaultConsumerName() + "-" + (broker + 1);
    return subscriptionId == null || subscriptionId.equals(destinationKey) ? base : base + "/" + subscriptionId;
  }

  /**
   * Marks the consumer live until {@link #release}; fails when another live subscription of this
   * broker reads the same key under the same name (they would take each other's messages).
   */
  public void claim(String key, String consumer, String subscriptionId) {
    String other = live.putIfAbsent(key + '\0' + consumer, subscriptionId);
    if (other != null && !other.equals(subscriptionId)) {
      throw new BrookException("Subscription '" + subscriptionId + "' cannot read " + key + " as consumer '" + consumer
          + "': subscription '" + other + "' of this broker is reading it under that name, and two consumers with one "
          + "name would take each other's messages. Give each subscription its own consumer(...) name, or leave it "
          + "unset so Brook names them apart.");
    }
  }

  public void release(String key, String consumer, String subscriptionId) {
    live.remove(key + '\0' + consumer, subscriptionId);
  }

  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    synchronized (BROKERS) {
      BROKERS.clear(broker);
    }
  }
}
