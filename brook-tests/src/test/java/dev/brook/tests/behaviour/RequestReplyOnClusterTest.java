package dev.brook.tests.behaviour;

import dev.brook.testing.RedisCluster;
import dev.brook.testing.WithRedisCluster;

@WithRedisCluster(shared = true)
class RequestReplyOnClusterTest extends RequestReplyBehaviour {
  RequestReplyOnClusterTest(RedisCluster cluster) {
    super(Backend.cluster(cluster));
  }
}
