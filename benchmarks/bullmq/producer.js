'use strict';
// The delayed scenario's producer (forked by jobs.js): RATE jobs/s for SECONDS, each added with a
// delay from the shared pseudo-random sequence (the same as Brook's side) and carrying its due
// time, the scheduled send time plus the delay (epoch ms), so lateness includes no coordinated
// omission. Sends its CPU time to the parent when done.
//   node producer.js URL QUEUE RATE SECONDS MIN_MS MAX_MS
const { Queue } = require('bullmq');
const { connect, xorshift, nowMs, cpuMicros, sleep } = require('./common');

const [url, name, rate, seconds, minMs, maxMs] = process.argv.slice(2).map((v, i) => (i < 2 ? v : Number(v)));

(async () => {
  const cpu0 = process.cpuUsage();
  const redis = connect(url);
  const queue = new Queue(name, { connection: redis, defaultJobOptions: { removeOnComplete: true } });
  await queue.waitUntilReady();
  const n = rate * seconds;
  const interval = 1000 / rate;
  const delays = xorshift();
  const t0 = nowMs() + 200;
  const inFlight = [];
  for (let i = 0; i < n; i++) {
    const at = t0 + i * interval;
    const wait = at - nowMs();
    if (wait > 0) await sleep(wait);
    const delay = delays(minMs, maxMs);
    inFlight.push(queue.add('job', { id: i, due: at + delay }, { delay }));
  }
  await Promise.all(inFlight);
  await queue.close();
  redis.disconnect();
  await new Promise((resolve) => process.send({ cpu: cpuMicros(process.cpuUsage(cpu0)) }, resolve));
})().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
