package dev.brook.redis.internal;

import dev.brook.Destination;
import dev.brook.redis.internal.jobs.ScheduleRunner;

/**
 * What {@code RedisBroker.deadLetters} and {@code RedisBroker.schedule} need of the transport the
 * broker runs on: Redis ({@link RedisTransport}) or the in-memory Redis of the test broker.
 */
public interface JobSupport {

  /** The dead letters of a List or Stream; the destination was checked to be one. */
  DeadLetterStore deadLetters(Destination destination, boolean stream, String queue, String deadLetterKey);

  /** Where schedules claim their ticks, which clock and timer drive them. */
  ScheduleRunner.Host scheduleHost();
}
