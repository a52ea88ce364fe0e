package dev.brook.tests.behaviour;

import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;

@WithRedisCluster(shared = true)
class RoundTripOnClusterTest extends RoundTripBehaviour {
  RoundTripOnClusterTest(RedisCluster cluster) {
    super(Backend.cluster(cluster));
  }
}
