package dev.brook.spi;

import dev.brook.Destination;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a broker's documentation (the AsyncAPI document of {@code brook-asyncapi}) says about one
 * destination, in the words of its server. A {@link Transport} makes it in {@link
 * Transport#describe(Destination)}, so the documentation knows no transport's destination classes.
 *
 * <p>For a new server, describe each of its destination kinds. A NATS transport, say, would give a
 * subject {@code orders.*} as kind {@code subject}, bindings key {@code x-nats}, receive method
 * {@code subscribe} (or {@code queue-subscribe} with a queue group, which is then its {@link
 * #group()}), send method {@code publish}, and binding fields such as {@code subject} and {@code
 * queue}. The Redis descriptions in {@code brook-redis} are the worked example.
 *
 * <p>How the document uses each part: the channel's id is {@code <kind>.<address>[.<group>]}, its
 * title {@code <kind> <address>[ (group <group>)]}, its address and description these fields, and
 * each parameter becomes a channel parameter. The channel's {@code bindings.<bindingsKey>} holds
 * {@code kind}, then the {@link #binding()} fields in their order, then {@code bindingVersion:
 * custom}; a receive operation's binding names {@link #receiveMethod()} (with Brook's ack policy
 * and batch size), a send operation's {@link #sendMethod()}.
 *
 * <p>Immutable; the text parts must be deterministic (no names made up per process), so documents
 * of two runs compare equal.
 *
 * @param bindingsKey the key the bindings are filed under. The AsyncAPI 3.0 schema accepts only the
 *     protocols it knows and names starting {@code x-}, and checks the fields of every protocol
 *     that has an official binding (NATS, Kafka, AMQP, ...), so Brook's own fields go under a
 *     protocol whose official binding is an empty placeholder ({@code redis}) or under an
 *     extension ({@code x-nats}); null leaves the bindings out
 * @param kind the destination's kind in one lower-case word, as the user knows it: {@code channel},
 *     {@code pattern}, {@code list}, {@code stream}
 * @param address the address as the user wrote it, with its parameters in braces: a pattern's
 *     {@code logs.{level}}, not the glob {@code logs.*} sent to the server
 * @param parameters the names of the address's {@code {name}} parts, in order (what a handler reads
 *     with {@code ctx.path(name)}); empty for most kinds
 * @param description one sentence saying what the destination is and how it delivers (at-most-once
 *     or at-least-once, fan-out or one consumer per message), in the server's terms
 * @param group the set of consumers that share the destination's messages, when the address alone
 *     does not say who reads (a Redis Stream's consumer group, a NATS queue group); it tells two
 *     channels on one address apart; null when there is none
 * @param receiveMethod the server command or operation that reads it ({@code subscribe}, {@code
 *     psubscribe}, {@code blmove}, {@code xreadgroup}, ...)
 * @param sendMethod the server command that publishes to it ({@code publish}, {@code rpush}, {@code
 *     xadd}, ...)
 * @param binding the server-specific facts beyond the kind, in the order they are shown (for a Redis
 *     Stream: {@code stream}, {@code delivery}, {@code groupName}, {@code consumerName}, {@code
 *     maxDeliveries}, {@code deadLetter}, {@code maxLen}); values are strings, numbers or booleans
 *     and never null (leave a field out instead); copied, the order kept
 */
public record DestinationDescription(
    String bindingsKey,
    String kind,
    String address,
    List<String> parameters,
    String description,
    String group,
    String receiveMethod,
    String sendMethod,
    Map<String, Object> binding) {

  /**
   * @throws NullPointerException naming the part when any but {@code bindingsKey} and {@code group}
   *     is null
   * @throws IllegalArgumentException naming the field when a binding value is null or not a string,
   *     number or boolean
   */
  public DestinationDescription {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(address, "address");
    Objects.requireNonNull(description, "description");
    Objects.requireNonNull(receiveMethod, "receiveMethod");
    Objects.requireNonNull(sendMethod, "sendMethod");
    parameters = List.copyOf(Objects.requireNonNull(parameters, "parameters"));
    Map<String, Object> fields = new LinkedHashMap<>();
    Objects.requireNonNull(binding, "binding").forEach((name, value) -> {
      if (!(value instanceof String || value instanceof Number || value instanceof Boolean)) {
        throw new IllegalArgumentException("The binding field " + name + " of " + kind + " " + address + " is "
            + (value == null ? "null" : "a " + value.getClass().getName()) + "; give a string, number or boolean, "
            + "or leave the field out.");
      }
      fields.put(name, value);
    });
    binding = Collections.unmodifiableMap(fields);
  }

  /**
   * What a transport that does not describe its destinations gives (the default of {@link
   * Transport#describe(Destination)}): the kind from the key ({@code kind:name}), the name as the
   * address, the destination's {@link Destination#params()}, no group, the methods {@code receive}
   * and {@code send}, the binding {@code name}, and no bindings key, so the document has no bindings.
   */
  public static DestinationDescription generic(Destination destination) {
    String key = destination.key();
    int colon = key.indexOf(':');
    String kind = colon > 0 ? key.substring(0, colon) : "destination";
    return new DestinationDescription(null, kind, destination.name(), destination.params(), "Destination " + key + ".",
        null, "receive", "send", Map.of("name", destination.name()));
  }
}
