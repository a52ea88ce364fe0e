package dev.brook.tests.behaviour;

import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;

@WithRedisCluster(shared = true)
class FastStreamScenarios2OnClusterTest extends FastStreamScenarios2Behaviour {
  FastStreamScenarios2OnClusterTest(RedisCluster cluster) {
    super(Backend.cluster(cluster));
  }
}
