package dev.brook.tests.behaviour;

import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;

@WithRedisCluster(shared = true)
class BatchHeadersOnClusterTest extends BatchHeadersBehaviour {
  BatchHeadersOnClusterTest(RedisCluster cluster) {
    super(Backend.cluster(cluster));
  }
}
