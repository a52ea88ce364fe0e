package dev.brook.redis;

/**
 * What waits in Redis for one subscription, from {@link RedisBroker#backlog}: the figures an
 * operator watches (and the metrics module's gauges report). A snapshot read with a few commands
 * that are not atomic together; -1 marks a figure that does not apply to the destination's kind or
 * that Redis cannot tell.
 *
 * <table>
 *   <caption>Figures by kind</caption>
 *   <tr><th>figure</th><th>List</th><th>Stream</th><th>Pub/Sub</th></tr>
 *   <tr><td>{@code length}</td><td>LLEN of the list: items not yet taken</td><td>XLEN of the stream</td><td>-1</td></tr>
 *   <tr><td>{@code lag}</td><td>-1</td><td>the group's {@code lag} (XINFO GROUPS, Redis 7): entries
 *       added and not yet read by the group; -1 without a group, or when Redis cannot tell (after
 *       deletions or trims inside the unread range)</td><td>-1</td></tr>
 *   <tr><td>{@code pending}</td><td>-1</td><td>the group's pending entries (delivered, not acknowledged)</td><td>-1</td></tr>
 *   <tr><td>{@code consumerPending}</td><td>-1</td><td>those pending for this subscription's consumer</td><td>-1</td></tr>
 *   <tr><td>{@code processing}</td><td>reliable: LLEN of this subscription's processing list
 *       (taken, not yet settled); at-most-once: -1</td><td>-1</td><td>-1</td></tr>
 *   <tr><td>{@code deadLetters}</td><td>LLEN of {@code {list}:dlq} when the list has a dead letter, else -1</td>
 *       <td>XLEN of {@code {stream}:dlq} for a group, else -1</td><td>-1</td></tr>
 * </table>
 *
 * @param subscription the subscription's id
 * @param destination its destination's key
 * @param length see the table
 * @param lag see the table
 * @param pending see the table
 * @param consumerPending see the table
 * @param processing see the table
 * @param deadLetters see the table
 */
public record Backlog(String subscription, String destination, long length, long lag, long pending,
    long consumerPending, long processing, long deadLetters) {}
