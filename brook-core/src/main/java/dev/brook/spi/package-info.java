/**
 * The contract a broker implementation builds on: what Brook needs from a message server, and
 * nothing an application uses directly.
 *
 * <p>Adding a broker for another server (NATS, RabbitMQ, ...) means, in its own module:
 *
 * <ol>
 *   <li>Destinations: immutable {@link dev.brook.Destination} values for the server's kinds (a NATS
 *       subject, a JetStream consumer), with a stable {@code key()} (the default subscription id) and
 *       {@code atLeastOnce()} true where the server keeps a message until it is settled. Make them a
 *       sealed family, as {@code dev.brook.redis.RedisDestination} is, and give each kind its own
 *       package with its consumer, its producer steps, its in-memory model and its {@link
 *       DestinationDescription}.
 *   <li>A {@link Transport}: connect, a {@link Transport.Consumer} per subscription that delivers
 *       {@link Inbound} messages to the {@link Transport.Sink} (fetching no more than the sink has
 *       room for, so the server and not the JVM holds the backlog), send (and send a batch), the
 *       reply channel for request/reply, {@code destination(...)} for annotated handlers, {@code
 *       describe(...)} for the AsyncAPI documents, and close. Messages travel as {@link Frame}s; the
 *       wire format (an envelope, native headers) is the transport's business.
 *   <li>Settlement: an at-least-once {@link Inbound} implements ack, nack, reject, release (and their
 *       batch forms); Brook calls each at most once per message, from the handler's thread or
 *       another, and a release must put the message back untouched (it was never handled).
 *   <li>A broker class extending {@link BrokerBase}, whose builder extends {@link
 *       BrokerBase.Builder}: registration, the one-id-one-subscription rule, lifecycle, the consume
 *       chain, publishing, request/reply, routers, annotated handlers, graceful shutdown and leak
 *       detection come from the base. {@link Brokers} lets a test broker run it on an in-memory
 *       transport.
 * </ol>
 *
 * <p>Everything here is thread-safe unless its Javadoc says otherwise; see {@link Transport} for
 * which thread calls what.
 */
package dev.brook.spi;
