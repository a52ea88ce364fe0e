package dev.brook.internal;

import dev.brook.AckPolicy;
import dev.brook.Destination;
import dev.brook.Handler;
import java.lang.reflect.Type;
import java.util.List;

/**
 * Everything declared for one subscription, as the builder hands it to the engine.
 *
 * @param ackPolicy null when not set (the default, REJECT_ON_ERROR, applies)
 * @param batchSize 0 for a handler of single payloads, else the maximum batch
 */
record SubscriptionSpec(String id, Destination destination, Type payloadType, Handler<Object> handler,
    List<Destination> publishTo, int concurrency, AckPolicy ackPolicy, int batchSize) {}
