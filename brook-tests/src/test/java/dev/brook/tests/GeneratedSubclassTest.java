package dev.brook.tests;

import static dev.brook.redis.Redis.channel;
import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.Subscribe;
import dev.brook.Subscription;
import dev.brook.redis.RedisBroker;
import dev.brook.testing.TestRedisBroker;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * A generated subclass (a CGLIB proxy, as Spring makes for {@code @Transactional} beans; its name
 * carries {@code $$}) overrides the handler methods without their annotations: include finds the
 * annotated methods of the class the user wrote, gives them that class's ids, and calls the
 * object, so the subclass's override (the proxy's advice) runs.
 */
class GeneratedSubclassTest {

  static final List<String> CALLS = new CopyOnWriteArrayList<>();

  static class Audit {
    @Subscribe(channel = "audit")
    void onEvent(String event) {
      CALLS.add("handler:" + event);
    }
  }

  /** What a CGLIB proxy of Audit looks like to Brook. */
  static class Audit$$SpringCGLIB$$0 extends Audit {
    @Override
    void onEvent(String event) {
      CALLS.add("advice");
      super.onEvent(event);
    }
  }

  @Test
  void aGeneratedSubclassKeepsTheUserClassIdsAndItsOverrideRuns() {
    CALLS.clear();
    try (RedisBroker broker = RedisBroker.create("redis://127.0.0.1:1"); TestRedisBroker test = TestRedisBroker.of(broker)) {
      List<Subscription> subs = broker.include(new Audit$$SpringCGLIB$$0());
      assertThat(subs).extracting(Subscription::id).containsExactly(Audit.class.getName() + "#onEvent");
      // Including the plain class again replaces, rather than adds to, the proxy's subscription.
      broker.include(new Audit());
      assertThat(broker.subscriptions()).hasSize(1);
      broker.include(new Audit$$SpringCGLIB$$0());
      broker.publish("e1", channel("audit"));
      assertThat(CALLS).containsExactly("advice", "handler:e1");
    }
  }
}
