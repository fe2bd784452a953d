// graphile-worker peer of `finishthisidea bench jobs`: same phases, same JSON keys.
//
//   node bench.mjs --url postgresql://... --jobs N --workers W [--enqueue-only|--work-only]
//                  [--batch 5000] [--local-queue 2000] [--complete-batch-delay 0]
//                  [--latency-samples 500] [--json]
//
// 1. enqueue: jobs of the two tasks below left by an earlier run are deleted, then N no-op
//    jobs are added with workerUtils.addJobs (one add_jobs call per batch of --batch jobs),
//    one batch after the other. enqueue_per_sec = N / enqueue time.
// 2. drain: one runner with concurrency W, configured as graphile-worker's performance page
//    recommends for throughput: a local queue (--local-queue jobs fetched and locked per
//    query; the page uses 500 and says "much higher" suits extremely fast tasks: 2,000
//    drained these no-op jobs fastest here, and ours claims up to 2,048 ahead),
//    completions and failures batched (completeJobBatchDelay and failJobBatchDelay 0: the
//    completions of one tick share a statement), a pool of W + 1 connections.
//    The task does nothing. graphile-worker deletes a job's row when it completes, so the
//    drain ends when the database holds no job of the run (asked only once the handler has
//    run all N). process_per_sec = N / drain time (runner start-up included: a few tens of
//    ms); end_to_end_per_sec = N / (enqueue time + drain time).
//    Nothing is kept of a completed job, so `succeeded` = jobs added - rows of the run left
//    (a job that failed for good keeps its row, with last_error).
// 3. pickup latency, on the now idle queue: one job at a time, the time from just before
//    workerUtils.addJob to the start of the task (the runner hears of it through its
//    LISTEN on jobs:insert); the next job is added once the previous one's row is gone.
//
// `succeeded` and `executions` (task runs) are taken after the drain, before the latency
// phase. --work-only drains whatever is waiting (no enqueue).
import { Logger, makeWorkerUtils, run } from 'graphile-worker';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import {
  emptyResult, parseArgs, percentile, print, rate, round, signal, waitUntil,
} from '../common.mjs';

const o = parseArgs(process.argv.slice(2), {
  name: 'graphile-worker/bench.mjs',
  usage:
    'node bench.mjs --url URL --jobs N --workers W [--enqueue-only|--work-only] [--batch B] ' +
    '[--local-queue L] [--complete-batch-delay MS] [--latency-samples S] [--json]',
  batch: 5000, // as ours: `bench jobs` enqueues in batches of 5,000
  extra: {
    '--local-queue': ['localQueue', 'signed', 2000],
    '--complete-batch-delay': ['completeBatchDelay', 'signed', 0],
  },
});

const NOOP = 'fti_bench_noop';
const LATENCY = 'fti_bench_latency';

// Warnings and errors to stderr; graphile-worker's info lines would mix with --json output.
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`graphile-worker: ${level}: ${message}\n`);
});

async function main() {
  const utils = await makeWorkerUtils({ connectionString: o.url, logger });
  await utils.migrate();
  const sql = new pg.Client({ connectionString: o.url, application_name: 'fti-bench-graphile-probe' });
  await sql.connect();
  const left = async (task) =>
    Number((await sql.query('SELECT count(*) AS n FROM graphile_worker.jobs WHERE task_identifier = $1',
                            [task])).rows[0].n);

  const result = emptyResult(o);

  // 1. enqueue
  let enqueueMs = null;
  let added = 0;
  if (!o.workOnly) {
    await sql.query(
      'DELETE FROM graphile_worker._private_jobs AS j USING graphile_worker._private_tasks AS t ' +
        'WHERE t.id = j.task_id AND t.identifier IN ($1, $2)', [NOOP, LATENCY]);
    const t0 = performance.now();
    for (let done = 0; done < o.jobs;) {
      const n = Math.min(o.batch, o.jobs - done);
      const batch = new Array(n);
      for (let k = 0; k < n; k++) batch[k] = { identifier: NOOP, payload: { i: done + k } };
      added += (await utils.addJobs(batch)).length;
      done += n;
    }
    enqueueMs = performance.now() - t0;
    result.enqueue_per_sec = round(rate(o.jobs, enqueueMs), 1);
  } else {
    added = await left(NOOP);
    result.jobs = added;
  }

  if (o.enqueueOnly) {
    result.succeeded = 0;
    result.executions = 0;
    await sql.end();
    await utils.release();
    return result;
  }

  // 2. drain
  const total = result.jobs;
  let executions = 0;
  const allRun = signal();
  let pickup = null; // latency phase: resolves with the task's start time
  const pgPool = new pg.Pool({ connectionString: o.url, max: o.workers + 1, application_name: 'fti-bench-graphile' });
  const poolError = (err) => process.stderr.write(`graphile-worker/bench.mjs: pool: ${err}\n`);
  pgPool.on('error', poolError);
  pgPool.on('connect', (client) => client.on('error', poolError));
  const t1 = performance.now();
  const runner = await run({
    pgPool,
    concurrency: o.workers,
    noHandleSignals: true,
    logger,
    taskList: {
      [NOOP]: async () => {
        if (++executions === total) allRun.resolve();
      },
      [LATENCY]: async () => {
        if (pickup) pickup.resolve(performance.now());
      },
    },
    preset: {
      worker: {
        localQueue: { size: o.localQueue },
        completeJobBatchDelay: o.completeBatchDelay,
        failJobBatchDelay: o.completeBatchDelay,
      },
    },
  });
  runner.events.on('job:error', ({ error }) =>
    process.stderr.write(`graphile-worker/bench.mjs: a job failed: ${error}\n`));
  if (total > 0) {
    await allRun.promise;
    await waitUntil(async () => (await left(NOOP)) === 0);
  }
  const drainMs = performance.now() - t1;

  result.process_per_sec = round(rate(total, drainMs), 1);
  if (enqueueMs !== null) result.end_to_end_per_sec = round(rate(total, enqueueMs + drainMs), 1);
  result.succeeded = added - (await left(NOOP));
  result.executions = executions;

  // 3. pickup latency on an idle queue, one job at a time
  const samples = [];
  for (let s = 0; s < o.latencySamples; s++) {
    pickup = signal();
    const t = performance.now();
    const job = await utils.addJob(LATENCY, {});
    samples.push((await pickup.promise) - t);
    await waitUntil(async () =>
      (await sql.query('SELECT 1 FROM graphile_worker._private_jobs WHERE id = $1', [job.id])).rowCount === 0);
  }
  pickup = null;
  samples.sort((a, b) => a - b);
  result.pickup_latency_ms = { p50: round(percentile(samples, 50), 3), p99: round(percentile(samples, 99), 3) };

  await runner.stop();
  await pgPool.end();
  await sql.end();
  await utils.release();
  return result;
}

main().then(
  (result) => {
    print('graphile-worker', result, o.json);
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`graphile-worker/bench.mjs: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
