// BullMQ peer of `finishthisidea bench jobs`: same phases, same JSON keys.
//
//   node bench.mjs --port PORT [--host 127.0.0.1] --jobs N --workers W
//                  [--enqueue-only|--work-only] [--batch 1000] [--latency-samples 500]
//                  [--queue NAME] [--json]
//
// 1. enqueue: obliterate the queue, then add N no-op jobs with queue.addBulk in batches.
//    enqueue_per_sec = N / enqueue time.
// 2. drain: one Worker with concurrency W and a no-op processor takes them all.
//    process_per_sec = N / time until the N-th job is completed (its completion has been
//    written to Redis). end_to_end_per_sec = N / (enqueue time + drain time).
//    Completed jobs are kept (removeOnComplete: false) so `succeeded` is what Redis holds.
// 3. pickup latency, on the now idle queue: one job at a time, the time from just before
//    queue.add to the start of the processor; the next job is added only once the previous
//    one has completed.
//
// `succeeded` and `executions` are taken after the drain, before the latency phase, so
// in a clean run both equal `jobs`. Metrics a mode does not measure are null.
// --work-only drains whatever is waiting in the queue (N = the waiting count).
import { Queue, Worker } from 'bullmq';
import { performance } from 'node:perf_hooks';

import { emptyResult, parseArgs, percentile, rate, round } from '../common.mjs';

const spec = {
  name: 'bullmq/bench.mjs',
  usage:
    'node bench.mjs --port PORT [--host H] --jobs N --workers W ' +
    '[--enqueue-only|--work-only] [--batch B] [--latency-samples S] [--queue NAME] [--json]',
  extra: {
    '--host': ['host', 'string', '127.0.0.1'],
    '--port': ['port', 'number', process.env.REDIS_PORT ? Number(process.env.REDIS_PORT) : undefined],
    '--queue': ['queue', 'string', 'fti-bench'],
  },
  connection: (o) => (o.port ? null : '--port is required (or REDIS_PORT in the environment)'),
};

async function main() {
  const o = parseArgs(process.argv.slice(2), spec);
  const connection = { host: o.host, port: o.port, maxRetriesPerRequest: null };
  const queue = new Queue(o.queue, {
    connection,
    defaultJobOptions: { removeOnComplete: false, removeOnFail: false, attempts: 1 },
  });
  await queue.waitUntilReady();

  const result = emptyResult(o);

  // 1. enqueue
  let enqueueMs = null;
  if (!o.workOnly) {
    await queue.obliterate({ force: true });
    const t0 = performance.now();
    for (let done = 0; done < o.jobs; ) {
      const n = Math.min(o.batch, o.jobs - done);
      const batch = new Array(n);
      for (let k = 0; k < n; k++) batch[k] = { name: 'noop', data: { i: done + k } };
      await queue.addBulk(batch);
      done += n;
    }
    enqueueMs = performance.now() - t0;
    result.enqueue_per_sec = round(rate(o.jobs, enqueueMs), 1);
  } else {
    result.jobs = await queue.getWaitingCount();
  }

  if (o.enqueueOnly) {
    const counts = await queue.getJobCounts('completed');
    result.succeeded = counts.completed;
    result.executions = 0;
    await queue.close();
    return result;
  }

  // 2. drain
  const total = result.jobs;
  let executions = 0;
  let completed = 0;
  let onPickup = null; // latency phase: resolves with the processor start time
  let onDone = null; // resolves when `total` jobs completed / a latency job completed
  const worker = new Worker(
    o.queue,
    async (job) => {
      if (job.name === 'latency') {
        const t = performance.now();
        if (onPickup) onPickup(t);
        return;
      }
      executions++;
    },
    { connection, concurrency: o.workers, autorun: false },
  );
  worker.on('error', (err) => process.stderr.write(`bench.mjs: worker error: ${err}\n`));
  worker.on('failed', (job, err) =>
    process.stderr.write(`bench.mjs: job ${job?.id} failed: ${err}\n`));
  worker.on('completed', (job) => {
    if (job.name === 'latency') {
      if (onDone) onDone();
      return;
    }
    if (++completed === total && onDone) onDone();
  });
  await worker.waitUntilReady();

  const drained = new Promise((resolve) => {
    onDone = resolve;
  });
  const t1 = performance.now();
  const running = worker.run();
  running.catch((err) => process.stderr.write(`bench.mjs: worker stopped: ${err}\n`));
  if (total > 0) await drained;
  const drainMs = performance.now() - t1;
  onDone = null;

  result.process_per_sec = round(rate(total, drainMs), 1);
  if (enqueueMs !== null) result.end_to_end_per_sec = round(rate(total, enqueueMs + drainMs), 1);
  result.succeeded = (await queue.getJobCounts('completed')).completed;
  result.executions = executions;

  // 3. pickup latency on an idle queue, one job at a time
  const samples = [];
  for (let s = 0; s < o.latencySamples; s++) {
    const picked = new Promise((resolve) => {
      onPickup = resolve;
    });
    const finished = new Promise((resolve) => {
      onDone = resolve;
    });
    const t = performance.now();
    await queue.add('latency', {});
    const started = await picked;
    samples.push(started - t);
    await finished;
  }
  onPickup = null;
  onDone = null;
  samples.sort((a, b) => a - b);
  result.pickup_latency_ms = {
    p50: round(percentile(samples, 50), 3),
    p99: round(percentile(samples, 99), 3),
  };

  await worker.close();
  await queue.close();
  return result;
}

main().then(
  (result) => {
    const o = parseArgs(process.argv.slice(2), spec);
    if (o.json) {
      process.stdout.write(JSON.stringify(result) + '\n');
    } else {
      const fmt = (v) => (v === null ? '-' : String(v));
      process.stdout.write(
        `BullMQ: ${result.jobs} jobs, ${result.workers} workers\n` +
          `  enqueue      ${fmt(result.enqueue_per_sec)} jobs/s\n` +
          `  process      ${fmt(result.process_per_sec)} jobs/s\n` +
          `  end to end   ${fmt(result.end_to_end_per_sec)} jobs/s\n` +
          `  pickup p50   ${fmt(result.pickup_latency_ms.p50)} ms\n` +
          `  pickup p99   ${fmt(result.pickup_latency_ms.p99)} ms\n` +
          `  succeeded    ${fmt(result.succeeded)}\n` +
          `  executions   ${fmt(result.executions)}\n`);
    }
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`bench.mjs: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
