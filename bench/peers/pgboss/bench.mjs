// pg-boss peer of `finishthisidea bench jobs`: same phases, same JSON keys.
//
//   node bench.mjs --url postgresql://... --jobs N --workers W [--enqueue-only|--work-only]
//                  [--batch 5000] [--fetch-batch 100] [--poll-seconds 0.5]
//                  [--latency-samples 500] [--queue NAME] [--json]
//
// 1. enqueue: the queue is dropped and created again, then N no-op jobs are added with
//    boss.insert (one statement per batch of --batch jobs), one batch after the other.
//    enqueue_per_sec = N / enqueue time.
// 2. drain: W workers (W calls of boss.work, as pg-boss 10 scales a process: each call is
//    one polling worker) with batchSize --fetch-batch and the shortest polling interval
//    pg-boss allows (0.5 s); the handler does nothing for each job it is given. pg-boss
//    completes a batch after the handler returns without waiting for it, so the drain ends
//    when the database holds no job of the run in created, retry or active state (asked
//    only once the handlers have seen all N jobs). process_per_sec = N / drain time;
//    end_to_end_per_sec = N / (enqueue time + drain time).
//    Completed jobs stay in pgboss.job (state completed) until maintenance archives them
//    (12 hours by default), so `succeeded` is what the table holds as completed.
// 3. pickup latency, on the now idle queue: one job at a time, the time from just before
//    boss.send to the start of the handler; after the send the process wakes one of its
//    own workers (boss.notifyWorker), as ours wakes its pool in process; the next job is
//    sent once the previous one is completed in the database.
//
// `succeeded` and `executions` (jobs the handler was given) are taken after the drain,
// before the latency phase. --work-only drains whatever is waiting in the queue.
import PgBoss from 'pg-boss';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import {
  emptyResult, parseArgs, percentile, print, rate, round, signal, waitUntil,
} from '../common.mjs';

const o = parseArgs(process.argv.slice(2), {
  name: 'pgboss/bench.mjs',
  usage:
    'node bench.mjs --url URL --jobs N --workers W [--enqueue-only|--work-only] [--batch B] ' +
    '[--fetch-batch F] [--poll-seconds S] [--latency-samples S] [--queue NAME] [--json]',
  batch: 5000, // as ours: `bench jobs` enqueues in batches of 5,000
  extra: {
    '--fetch-batch': ['fetchBatch', 'number', 100],
    '--poll-seconds': ['pollSeconds', 'string', '0.5'],
    '--queue': ['queue', 'string', 'fti-bench'],
  },
});

async function main() {
  const boss = new PgBoss({
    connectionString: o.url,
    max: o.workers + 2, // one connection per worker, and room for completions and sends
    application_name: 'fti-bench-pgboss',
  });
  boss.on('error', (err) => process.stderr.write(`pgboss/bench.mjs: ${err?.stack ?? err}\n`));
  await boss.start();
  const sql = new pg.Client({ connectionString: o.url, application_name: 'fti-bench-pgboss-probe' });
  await sql.connect();
  const countWhere = async (where, params = []) =>
    Number((await sql.query(`SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND ${where}`,
                            [o.queue, ...params])).rows[0].n);
  const unfinished = () => countWhere("state IN ('created', 'retry', 'active')");

  const result = emptyResult(o);

  // 1. enqueue
  let enqueueMs = null;
  if (!o.workOnly) {
    if (await boss.getQueue(o.queue)) {
      // pg-boss 10.4.2's deleteQueue refuses a queue that still holds jobs (its foreign key
      // is ON DELETE RESTRICT), so the jobs of an earlier run go first.
      await sql.query('DELETE FROM pgboss.job WHERE name = $1', [o.queue]);
      await boss.deleteQueue(o.queue);
    }
    await boss.createQueue(o.queue);
    const t0 = performance.now();
    for (let done = 0; done < o.jobs;) {
      const n = Math.min(o.batch, o.jobs - done);
      const batch = new Array(n);
      for (let k = 0; k < n; k++) batch[k] = { name: o.queue, data: { i: done + k } };
      await boss.insert(batch);
      done += n;
    }
    enqueueMs = performance.now() - t0;
    result.enqueue_per_sec = round(rate(o.jobs, enqueueMs), 1);
  } else {
    result.jobs = await countWhere("state IN ('created', 'retry')");
  }

  if (o.enqueueOnly) {
    result.succeeded = await countWhere("state = 'completed'");
    result.executions = 0;
    await sql.end();
    await boss.stop({ graceful: false });
    return result;
  }

  // 2. drain
  const total = result.jobs;
  let executions = 0;
  const allRun = signal();
  let pickup = null; // latency phase: resolves with the handler's start time
  const handler = async (jobs) => {
    for (const job of jobs) {
      if (job.data?.latency) {
        if (pickup) pickup.resolve(performance.now());
        continue;
      }
      if (++executions === total) allRun.resolve();
    }
  };
  const options = { batchSize: o.fetchBatch, pollingIntervalSeconds: Number(o.pollSeconds) };
  const t1 = performance.now();
  const workerIds = [];
  for (let w = 0; w < o.workers; w++) workerIds.push(await boss.work(o.queue, options, handler));
  if (total > 0) {
    await allRun.promise;
    await waitUntil(async () => (await unfinished()) === 0);
  }
  const drainMs = performance.now() - t1;

  result.process_per_sec = round(rate(total, drainMs), 1);
  if (enqueueMs !== null) result.end_to_end_per_sec = round(rate(total, enqueueMs + drainMs), 1);
  result.succeeded = await countWhere("state = 'completed'");
  result.executions = executions;

  // 3. pickup latency on an idle queue, one job at a time
  const samples = [];
  for (let s = 0; s < o.latencySamples; s++) {
    pickup = signal();
    const t = performance.now();
    const id = await boss.send(o.queue, { latency: true });
    boss.notifyWorker(workerIds[0]);
    samples.push((await pickup.promise) - t);
    await waitUntil(async () => (await countWhere("id = $2 AND state = 'completed'", [id])) === 1);
  }
  pickup = null;
  samples.sort((a, b) => a - b);
  result.pickup_latency_ms = { p50: round(percentile(samples, 50), 3), p99: round(percentile(samples, 99), 3) };

  await sql.end();
  await boss.stop({ graceful: true, wait: true, timeout: 10000 });
  return result;
}

main().then(
  (result) => {
    print('pg-boss', result, o.json);
    process.exit(0);
  },
  (err) => {
    process.stderr.write(`pgboss/bench.mjs: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
