package dev.brook.testing.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.brook.spi.Inbound;
import dev.brook.spi.Transport;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * {@code withReal} wraps every delivered message: a method of {@link Inbound} or {@link Transport}
 * the wrappers do not override would silently run its default instead of the real transport's
 * (a Stream's one-command batch ack, say). So every one must be overridden.
 */
class RecordingTransportTest {

  @Test
  void theWrappedMessageHandsEveryInboundMethodToTheRealOne() throws Exception {
    assertOverridesAll(Class.forName(RecordingTransport.class.getName() + "$Counted"), Inbound.class);
  }

  @Test
  void theRecordingTransportHandsEveryTransportMethodToTheRealOne() {
    assertOverridesAll(RecordingTransport.class, Transport.class);
  }

  private static void assertOverridesAll(Class<?> wrapper, Class<?> api) {
    List<String> missing = new ArrayList<>();
    for (Method m : api.getMethods()) {
      if (Modifier.isStatic(m.getModifiers())) {
        continue;
      }
      try {
        wrapper.getDeclaredMethod(m.getName(), m.getParameterTypes());
      } catch (NoSuchMethodException e) {
        missing.add(m.getName());
      }
    }
    assertThat(missing).as("methods of %s that %s must delegate", api.getSimpleName(), wrapper.getSimpleName()).isEmpty();
  }
}
