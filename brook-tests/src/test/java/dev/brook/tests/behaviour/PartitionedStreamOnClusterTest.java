package dev.brook.tests.behaviour;

import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;

@WithRedisCluster(shared = true)
class PartitionedStreamOnClusterTest extends PartitionedStreamBehaviour {
  PartitionedStreamOnClusterTest(RedisCluster cluster) {
    super(Backend.cluster(cluster));
  }
}
