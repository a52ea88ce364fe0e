package dev.brook;

import java.lang.reflect.Type;
import java.util.List;

/**
 * The last step of declaring a batch subscription (see {@link SubscriberBuilder#batch(int)}): the
 * handler receives a {@code List} of decoded payloads. A message in the batch that cannot be decoded
 * is rejected on its own; the others are handled.
 */
public interface BatchSubscriberBuilder {

  /** Registers a handler for batches of this item type. */
  <T> Subscription handle(Class<T> itemType, Handler<? super List<T>> handler);

  /** Registers a handler for batches of a generic item type. */
  <T> Subscription handle(Type itemType, Handler<? super List<T>> handler);
}
