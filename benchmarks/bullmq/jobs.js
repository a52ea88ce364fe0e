'use strict';
// BullMQ's side of benchmarks/jobs.sh (issue 19): the same work as dev.brook.bench.Jobs, on the
// same redis-server. Every job carries a unique id; the processor records it, so lost and
// duplicated jobs are counted exactly (a retried job counts once: when it succeeds). Completed
// jobs are removed (removeOnComplete), as Brook removes an acknowledged job.
//   node jobs.js URL drain N CONCURRENCY
//   node jobs.js URL retry N CONCURRENCY BACKOFF_MS
//   node jobs.js URL delayed RATE SECONDS MIN_MS MAX_MS CONCURRENCY   (forks producer.js)
//   node jobs.js URL promote N CONCURRENCY DUE_MS
const { fork } = require('node:child_process');
const path = require('node:path');
const { Queue, Worker } = require('bullmq');
const { connect, snapshot, Ids, percentiles, nowMs, cpuMicros, result, sleep } = require('./common');

const [url, scenario, ...rest] = process.argv.slice(2);
const a = rest.map(Number);

/** Until nothing waits, runs or is delayed: every job settled in Redis. */
async function settle(queue) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = await queue.getJobCounts('wait', 'active', 'delayed', 'paused', 'prioritized', 'waiting-children');
    if (Object.values(c).every((v) => v === 0)) break;
    if (Date.now() > deadline) {
      console.log(`WARN not settled after 30 s: ${JSON.stringify(c)}`);
      break;
    }
    await sleep(10);
  }
  const failed = await queue.getFailedCount();
  if (failed > 0) console.log(`WARN ${failed} jobs in the failed set`);
}

function queueOf(name, redis) {
  return new Queue(name, { connection: redis, defaultJobOptions: { removeOnComplete: true } });
}

/** Drain (no failures) or retry (every job fails once, then succeeds, after a fixed back-off). */
async function drain(n, concurrency, backoffMs, name) {
  const retry = name.startsWith('retry');
  const redis = connect(url);
  const queue = queueOf('jobs-' + name, redis);
  const ids = new Ids(n);
  const attempts = new Uint32Array(n);
  const before = await snapshot(redis);
  const cpu0 = process.cpuUsage();
  const opts = retry ? { attempts: 2, backoff: { type: 'fixed', delay: backoffMs } } : {};
  for (let i = 0; i < n; i += 1000) {
    const chunk = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) chunk.push({ name: 'job', data: { id: j }, opts });
    await queue.addBulk(chunk);
  }
  const t0 = performance.now();
  const worker = new Worker(
    'jobs-' + name,
    async (job) => {
      const id = job.data.id;
      if (retry && attempts[id]++ === 0) throw new Error(`job ${id}: the first attempt fails`);
      ids.done(id);
    },
    { connection: connect(url), concurrency },
  );
  await ids.await(300_000);
  const seconds = (ids.last - t0) / 1e3;
  await settle(queue);
  const after = await snapshot(redis);
  const cpu = cpuMicros(process.cpuUsage(cpu0));
  await sleep(500); // the worker still runs: a duplicate delivered late is counted too
  await worker.close();
  await queue.close();
  result(name, n, `unit=jobs/s rate=${(n / seconds).toFixed(0)}`, before, after, cpu, ids);
  redis.disconnect();
}

/** Paced delayed adds by a separate producer process; lateness of each processor call behind its due time. */
async function delayed(rate, seconds, minMs, maxMs, concurrency) {
  const n = rate * seconds;
  const name = 'jobs-delayed';
  const redis = connect(url);
  const queue = queueOf(name, redis);
  const ids = new Ids(n);
  const lateness = new Float64Array(n);
  const warmup = Math.floor(n / 10);
  const before = await snapshot(redis);
  const cpu0 = process.cpuUsage();
  const worker = new Worker(
    name,
    async (job) => {
      const now = nowMs();
      lateness[job.data.id] = now - job.data.due;
      ids.done(job.data.id);
    },
    { connection: connect(url), concurrency },
  );
  await worker.waitUntilReady();
  const producer = fork(path.join(__dirname, 'producer.js'), [url, name, rate, seconds, minMs, maxMs].map(String));
  const producerCpu = new Promise((resolve, reject) => {
    producer.on('message', (m) => resolve(m.cpu));
    producer.on('exit', (code) => (code ? reject(new Error(`producer.js exited with ${code}`)) : null));
  });
  const producerMicros = await producerCpu;
  await ids.await((seconds + maxMs / 1000 + 60) * 1000);
  await settle(queue);
  const after = await snapshot(redis);
  const cpu = cpuMicros(process.cpuUsage(cpu0)) + producerMicros;
  await sleep(500);
  await worker.close();
  await queue.close();
  const measured = [];
  let maxAll = -Infinity;
  for (let i = 0; i < n; i++) {
    if (ids.counts[i] === 0) continue;
    maxAll = Math.max(maxAll, lateness[i]);
    if (i >= warmup) measured.push(lateness[i]);
  }
  result('delayed', n, `${percentiles(measured)} max_all=${maxAll.toFixed(1)}`, before, after, cpu, ids);
  redis.disconnect();
}

/** n jobs all due at one instant: how fast they are promoted and processed. */
async function promote(n, concurrency, dueMs) {
  const name = 'jobs-promote';
  const redis = connect(url);
  const queue = queueOf(name, redis);
  const ids = new Ids(n);
  const before = await snapshot(redis);
  const cpu0 = process.cpuUsage();
  let duePerf = Infinity;
  let early = 0; // processed more than 1 ms before the due time: a bug
  const worker = new Worker(
    name,
    async (job) => {
      if (performance.now() < duePerf - 1) early++;
      ids.done(job.data.id);
    },
    { connection: connect(url), concurrency },
  );
  await worker.waitUntilReady();
  const t0 = performance.now();
  const due = nowMs() + dueMs;
  duePerf = t0 + dueMs;
  for (let i = 0; i < n; i += 1000) {
    const chunk = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      chunk.push({ name: 'job', data: { id: j }, opts: { delay: Math.max(0, Math.ceil(due - Date.now())) } });
    }
    await queue.addBulk(chunk);
  }
  const published = performance.now();
  await ids.await((dueMs / 1000 + 120) * 1000);
  const seconds = (ids.last - Math.max(duePerf, published)) / 1e3;
  await settle(queue);
  const after = await snapshot(redis);
  const cpu = cpuMicros(process.cpuUsage(cpu0));
  await sleep(500);
  await worker.close();
  await queue.close();
  result('promote', n, `unit=jobs/s rate=${(n / seconds).toFixed(0)} publish_ms=${Math.round(published - t0)} late_publish=${published > duePerf ? 1 : 0} early=${early}`, before, after, cpu, ids);
  redis.disconnect();
}

(async () => {
  switch (scenario) {
    case 'drain':
      return drain(a[0], a[1], 0, `drain-c${a[1]}`);
    case 'retry':
      return drain(a[0], a[1], a[2], `retry-c${a[1]}-${a[2]}ms`);
    case 'delayed':
      return delayed(a[0], a[1], a[2], a[3], a[4]);
    case 'promote':
      return promote(a[0], a[1], a[2]);
    default:
      throw new Error(`Unknown scenario ${scenario}; use drain, retry, delayed or promote.`);
  }
})().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
