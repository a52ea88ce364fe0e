package dev.brook.tests.behaviour;

import static dev.brook.redis.Redis.channel;
import static dev.brook.redis.Redis.list;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.brook.AckPolicy;
import dev.brook.Router;
import dev.brook.Subscribe;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * Defaults a subscription inherits — the ack policy of the broker and of its routers (FastStream's
 * {@code ack_policy} on the broker and router), nearest wins — and {@code broker.ping(timeout)}.
 */
abstract class DefaultsBehaviour extends Behaviour {

  DefaultsBehaviour(Backend backend) {
    super(backend);
  }

  private final AtomicInteger failures = new AtomicInteger();

  private Object fail(String s) {
    failures.incrementAndGet();
    throw new IllegalStateException("failed " + s);
  }

  /** An annotated handler inside a router: it takes the router's default. */
  public final class Annotated {
    @Subscribe(list = "annotated", consumer = "c")
    public void handle(String s) {
      fail(s);
    }
  }

  @Test
  void theNearestAckPolicyWinsSubscriptionThenInnermostRouterThenBroker() {
    RedisBroker broker = started(b -> b.ackPolicy(AckPolicy.ACK));
    Subscription plain = broker.subscriber(list("plain").consumer("c").deadLetter()).handle(String.class, (s, c) -> fail(s));
    Router outer = Router.withPrefix("").ackPolicy(AckPolicy.REJECT_ON_ERROR);
    Router inner = Router.withPrefix("").ackPolicy(AckPolicy.MANUAL);
    Subscription outerSub = outer.subscriber(list("outer").consumer("c").deadLetter()).handle(String.class, (s, c) -> fail(s));
    Subscription innerSub = inner.subscriber(list("inner").consumer("c").deadLetter()).handle(String.class, (s, c) -> fail(s));
    Subscription own = inner.subscriber(list("own").consumer("c").deadLetter()).ackPolicy(AckPolicy.NACK_ON_ERROR)
        .handle(String.class, (s, c) -> fail(s));
    inner.include(new Annotated());
    outer.include(inner);
    broker.include(outer);

    assertThat(plain.ackPolicy()).isEqualTo(AckPolicy.ACK);
    assertThat(outerSub.ackPolicy()).isEqualTo(AckPolicy.REJECT_ON_ERROR);
    assertThat(innerSub.ackPolicy()).isEqualTo(AckPolicy.MANUAL);
    assertThat(own.ackPolicy()).isEqualTo(AckPolicy.NACK_ON_ERROR);
    assertThat(broker.subscriptions()).filteredOn(sub -> sub.destination().key().equals("list:annotated"))
        .singleElement().extracting(Subscription::ackPolicy).isEqualTo(AckPolicy.MANUAL);

    backend.despiteFailures(() -> broker.publish("p", list("plain")));
    backend.despiteFailures(() -> broker.publish("o", list("outer")));
    backend.despiteFailures(() -> broker.publish("i", list("inner")));
    backend.despiteFailures(() -> broker.publish("a", list("annotated")));
    eventually().until(() -> failures.get() == 4);
    // the broker's ACK: gone although the handler failed
    eventually().until(() -> backend.list("{plain}:processing:c").isEmpty());
    assertThat(backend.list("{plain}:dlq")).isEmpty();
    // the outer router's REJECT_ON_ERROR: dead-lettered
    eventually().until(() -> backend.list("{outer}:dlq").size() == 1);
    // the inner router's MANUAL: nobody settled them, they stay in the processing lists
    eventually().until(() -> backend.list("{inner}:processing:c").size() == 1
        && backend.list("{annotated}:processing:c").size() == 1);
    assertThat(backend.list("{inner}:dlq")).isEmpty();
  }

  @Test
  void aBrokerOrRouterDefaultOnAChannelLogsNothingAnExplicitPolicyWarnsOnce() {
    ListAppender<ILoggingEvent> log = new ListAppender<>();
    log.start();
    Logger brokerLog = (Logger) LoggerFactory.getLogger("dev.brook.Broker");
    brokerLog.addAppender(log);
    try {
      RedisBroker broker = started(b -> b.ackPolicy(AckPolicy.NACK_ON_ERROR));
      Subscription fromBroker = broker.subscriber(channel("a")).handle(String.class, (s, c) -> null);
      Router router = Router.withPrefix("r.").ackPolicy(AckPolicy.ACK);
      router.subscriber(channel("b")).handle(String.class, (s, c) -> null);
      broker.include(router);
      assertThat(fromBroker.ackPolicy()).isEqualTo(AckPolicy.NACK_ON_ERROR);
      assertThat(log.list).noneMatch(e -> e.getLevel() == Level.WARN);
      broker.subscriber(channel("c")).ackPolicy(AckPolicy.ACK).handle(String.class, (s, c) -> null);
      assertThat(log.list).filteredOn(e -> e.getLevel() == Level.WARN)
          .singleElement().satisfies(e -> assertThat(e.getFormattedMessage()).contains("nothing to acknowledge"));
    } finally {
      brokerLog.detachAppender(log);
    }
  }

  @Test
  void aRouterDefaultAppliesWhereverTheRouterIsIncludedAndTheBrokerDefaultOnlyWhereNoRouterSetsOne() {
    RedisBroker broker = started(b -> b.ackPolicy(AckPolicy.ACK_FIRST));
    Router router = Router.withPrefix("x.");
    Subscription none = router.subscriber(list("q").consumer("c")).handle(String.class, (s, c) -> null);
    broker.include(router);
    assertThat(none.ackPolicy()).isEqualTo(AckPolicy.ACK_FIRST);
    assertThat(broker.subscriber(list("y")).handle(String.class, (s, c) -> null).ackPolicy()).isEqualTo(AckPolicy.ACK_FIRST);
  }

  @Test
  void pingIsTrueWhileTheServerAnswersAndAClosedBrokerSaysSo() {
    RedisBroker broker = started();
    assertThat(broker.ping(Duration.ofSeconds(5))).isTrue();
    assertThatThrownBy(() -> broker.ping(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
    broker.close();
    assertThatThrownBy(() -> broker.ping(Duration.ofSeconds(1)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
  }
}
