package dev.brook.tests.behaviour;

import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;

@WithRedisCluster(shared = true)
class DuplicatePolicyOnClusterTest extends DuplicatePolicyBehaviour {
  DuplicatePolicyOnClusterTest(RedisCluster cluster) {
    super(Backend.cluster(cluster));
  }
}
