package dev.brook.tests.behaviour;

import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;

@WithRedisCluster(shared = true)
class HealthOnClusterTest extends HealthBehaviour {
  HealthOnClusterTest(RedisCluster cluster) {
    super(Backend.cluster(cluster));
  }
}
