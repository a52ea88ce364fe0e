'use strict';
// What jobs.js and producer.js share: Redis' own cost (INFO), exact id bookkeeping, the delay
// sequence, and the RESULT line — the same as dev.brook.bench.Jobs prints for Brook.
const IORedis = require('ioredis');

/** An ioredis connection as BullMQ workers need it (no per-request retry limit). */
function connect(url) {
  return new IORedis(url, { maxRetriesPerRequest: null });
}

/** The server's CPU seconds (used_cpu_sys + used_cpu_user) and command calls (INFO commandstats). */
async function snapshot(redis) {
  let cpu = 0;
  for (const line of (await redis.info('cpu')).split(/\r?\n/)) {
    if (line.startsWith('used_cpu_sys:') || line.startsWith('used_cpu_user:')) cpu += parseFloat(line.split(':')[1]);
  }
  let calls = 0;
  const byCommand = {};
  for (const line of (await redis.info('commandstats')).split(/\r?\n/)) {
    const m = /^cmdstat_([^:]+):calls=(\d+),/.exec(line);
    if (m) {
      byCommand[m[1]] = Number(m[2]);
      calls += Number(m[2]);
    }
  }
  return { cpu, calls, byCommand };
}

/** The commands that ran per job between two snapshots, most first, those under 0.01 left out. */
function perJob(before, after, n) {
  return Object.entries(after.byCommand)
    .map(([k, v]) => [k, (v - (before.byCommand[k] || 0)) / n])
    .filter(([, v]) => v >= 0.01)
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k}=${v.toFixed(2)}`)
    .join(' ');
}

/** Which ids completed, how often, and when the last one did. */
class Ids {
  constructor(n) {
    this.counts = new Uint32Array(n);
    this.handled = 0;
    this.last = 0;
    this.all = new Promise((resolve) => (this.resolve = resolve));
  }
  done(id) {
    this.counts[id]++;
    this.last = performance.now();
    if (++this.handled === this.counts.length) this.resolve();
  }
  async await(ms) {
    let timer;
    const timeout = new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)));
    if ((await Promise.race([this.all, timeout])) === 'timeout') {
      console.log(`WARN only ${this.handled} of ${this.counts.length} jobs completed within ${ms} ms`);
    }
    clearTimeout(timer);
  }
  lost() {
    return this.counts.reduce((s, c) => s + (c === 0 ? 1 : 0), 0);
  }
  duplicated() {
    return this.counts.reduce((s, c) => s + Math.max(0, c - 1), 0);
  }
}

/** xorshift32 from seed 42: the same delays as dev.brook.bench.Jobs.XorShift. */
function xorshift() {
  let x = 42;
  return (min, max) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return min + ((x >>> 0) % (max - min + 1));
  };
}

function percentiles(ms) {
  ms.sort((a, b) => a - b);
  if (ms.length === 0) return 'unit=ms p50=NaN p99=NaN max=NaN min=NaN';
  const at = (q) => ms[Math.min(ms.length - 1, Math.floor(ms.length * q))];
  return `unit=ms p50=${at(0.5).toFixed(1)} p99=${at(0.99).toFixed(1)} max=${ms[ms.length - 1].toFixed(1)} min=${ms[0].toFixed(1)}`;
}

/** Epoch milliseconds with sub-millisecond precision, comparable between two processes. */
function nowMs() {
  return performance.timeOrigin + performance.now();
}

function cpuMicros(usage) {
  return usage.user + usage.system;
}

function result(scenario, n, figures, before, after, clientCpuMicros, ids) {
  console.log(
    `RESULT impl=bullmq scenario=${scenario} jobs=${n} ${figures} redis_cpu_us=${(((after.cpu - before.cpu) * 1e6) / n).toFixed(2)} ` +
      `cmds=${((after.calls - before.calls) / n).toFixed(2)} client_cpu_us=${(clientCpuMicros / n).toFixed(2)} ` +
      `lost=${ids.lost()} dup=${ids.duplicated()}`,
  );
  console.log(`COMMANDS impl=bullmq scenario=${scenario} per_job ${perJob(before, after, n)}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { connect, snapshot, Ids, xorshift, percentiles, nowMs, cpuMicros, result, sleep };
