package dev.brook.tests.behaviour;

import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;

@WithRedisCluster(shared = true)
class ListOnClusterTest extends ListBehaviour {
  ListOnClusterTest(RedisCluster cluster) {
    super(Backend.cluster(cluster));
  }
}
