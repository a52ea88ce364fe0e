package dev.brook.spring.boot.autoconfigure;

import dev.brook.Broker;
import dev.brook.Subscribe;
import dev.brook.Subscription;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.BeansException;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.BeanFactoryAware;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.beans.factory.BeanCreationException;
import org.springframework.util.ClassUtils;

/**
 * Includes every bean with {@code @Subscribe} methods in the context's {@link Broker} once the bean
 * is initialized ({@code broker.include(bean)}), so ids stay {@code ClassName#method} and a second
 * context in the same JVM (a test refresh, a DevTools restart) registers the same ids in its own
 * broker rather than adding subscribers. A CGLIB proxy (e.g. {@code @Transactional}) is included as
 * the proxy, so its advice runs around each handler call; an interface (JDK) proxy cannot be, and
 * fails the start with the fix.
 *
 * <p>Including registers; subscriptions start with the broker ({@link BrookLifecycle}), or at once
 * for a bean created after the context started.
 */
public final class SubscribeBeanPostProcessor implements BeanPostProcessor, BeanFactoryAware {

  private static final Logger log = LoggerFactory.getLogger(SubscribeBeanPostProcessor.class);

  /** Whether a class has {@code @Subscribe} methods, per class: a context asks once per bean. */
  private final Map<Class<?>, Boolean> annotated = new ConcurrentHashMap<>();
  private BeanFactory beanFactory;

  @Override
  public void setBeanFactory(BeanFactory beanFactory) {
    this.beanFactory = beanFactory;
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) throws BeansException {
    if (bean instanceof Broker) {
      return bean;
    }
    Class<?> type = ClassUtils.getUserClass(AopUtils.getTargetClass(bean));
    if (!annotated.computeIfAbsent(type, SubscribeBeanPostProcessor::hasSubscribe)) {
      return bean;
    }
    if (AopUtils.isJdkDynamicProxy(bean)) {
      throw new BeanCreationException(beanName, type.getName() + " has @Subscribe methods but is an interface (JDK) proxy, "
          + "which Brook cannot call them on. Proxy the class instead: spring.aop.proxy-target-class=true "
          + "(Boot's default) or @EnableAspectJAutoProxy(proxyTargetClass = true).");
    }
    Broker broker = beanFactory.getBean(Broker.class);
    List<Subscription> subscriptions = broker.include(bean);
    log.debug("Included bean '{}': {}", beanName, subscriptions);
    return bean;
  }

  private static boolean hasSubscribe(Class<?> type) {
    for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
      for (Method m : c.getDeclaredMethods()) {
        if (m.isAnnotationPresent(Subscribe.class)) {
          return true;
        }
      }
    }
    return false;
  }
}
