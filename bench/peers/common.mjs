// What the peer benchmarks (pgboss/, graphile-worker/, bullmq/) share: arguments, the
// result object of `finishthisidea bench jobs --json`, percentiles, waiting on the database,
// and the output. No imports beyond Node itself: each peer brings its own node_modules.
import { performance } from 'node:perf_hooks';

// spec: { name, usage, batch: default --batch,
//         extra: { '--flag': ['key', 'number' | 'signed' | 'string', default] },
//         connection: (o) => a message when the options name no server (default: --url) }
export function parseArgs(argv, spec) {
  const fail = (msg) => {
    if (msg) process.stderr.write(`${spec.name}: ${msg}\n`);
    process.stderr.write(`usage: ${spec.usage}\n`);
    process.exit(2);
  };
  const o = {
    url: process.env.PG_URL,
    jobs: 100000,
    workers: 16,
    batch: spec.batch ?? 1000,
    latencySamples: 500,
    enqueueOnly: false,
    workOnly: false,
    json: false,
  };
  const extra = spec.extra ?? {};
  for (const [, [key, , value]] of Object.entries(extra)) o[key] = value;
  const num = (flag, v, signed = false) => {
    const n = Number(v);
    if (!Number.isInteger(n) || (n < 0 && !signed)) fail(`${flag} needs a whole number, got ${v}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => (i + 1 < argv.length ? argv[++i] : fail(`${a} needs a value`));
    switch (a) {
      case '--url': o.url = next(); break;
      case '--jobs': o.jobs = num(a, next()); break;
      case '--workers': o.workers = num(a, next()); break;
      case '--batch': o.batch = num(a, next()); break;
      case '--latency-samples': o.latencySamples = num(a, next()); break;
      case '--enqueue-only': o.enqueueOnly = true; break;
      case '--work-only': o.workOnly = true; break;
      case '--json': o.json = true; break;
      case '-h': case '--help': fail(); break;
      default: {
        const e = extra[a];
        if (!e) fail(`unknown argument ${a}`);
        o[e[0]] = e[1] === 'string' ? next() : num(a, next(), e[1] === 'signed');
      }
    }
  }
  const connection = spec.connection ??
    ((opts) => (opts.url ? null : '--url is required (or PG_URL in the environment): a postgresql:// URL'));
  const missing = connection(o);
  if (missing) fail(missing);
  if (o.enqueueOnly && o.workOnly) fail('--enqueue-only and --work-only exclude each other');
  if (o.workers < 1) fail('--workers must be at least 1');
  if (o.batch < 1) fail('--batch must be at least 1');
  return o;
}

// The JSON object `finishthisidea bench jobs --json` prints; metrics a mode skips stay null.
export function emptyResult(o) {
  return {
    jobs: o.jobs,
    workers: o.workers,
    enqueue_per_sec: null,
    process_per_sec: null,
    end_to_end_per_sec: null,
    pickup_latency_ms: { p50: null, p99: null },
    succeeded: null,
    executions: null,
  };
}

// Nearest rank, as ours and the BullMQ benchmark.
export function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

export const round = (x, digits) => (x === null ? null : Number(x.toFixed(digits)));
export const rate = (n, ms) => (ms > 0 ? n / (ms / 1000) : null);

// Asks `check` (async, true when done) every `everyMs` until it says so. Used only once the
// handlers have run every job: polling during the drain would compete with what is measured.
export async function waitUntil(check, everyMs = 1, timeoutMs = 120000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (performance.now() > deadline) throw new Error(`gave up waiting after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

// A promise with its resolve function, for "the handler started / the count was reached".
export function signal() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

export function print(title, result, json) {
  if (json) {
    process.stdout.write(JSON.stringify(result) + '\n');
    return;
  }
  const fmt = (v) => (v === null ? '-' : String(v));
  process.stdout.write(
    `${title}: ${result.jobs} jobs, ${result.workers} workers\n` +
      `  enqueue      ${fmt(result.enqueue_per_sec)} jobs/s\n` +
      `  process      ${fmt(result.process_per_sec)} jobs/s\n` +
      `  end to end   ${fmt(result.end_to_end_per_sec)} jobs/s\n` +
      `  pickup p50   ${fmt(result.pickup_latency_ms.p50)} ms\n` +
      `  pickup p99   ${fmt(result.pickup_latency_ms.p99)} ms\n` +
      `  succeeded    ${fmt(result.succeeded)}\n` +
      `  executions   ${fmt(result.executions)}\n`);
}
