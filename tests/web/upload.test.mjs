// The web page end to end in a real browser: Debian's chromium driven by playwright-core
// against the real `finishthisidea serve`. In open mode it uploads an archive through the
// file input, watches the progress bar (screenshot mid-job), reads the report tables,
// downloads the result and checks it, drops a second archive on the drop zone, shows a failed
// job's error, and follows a job by polling when its WebSocket keeps closing. In api_key mode
// it is refused without a key, then with one saved follows the job over the WebSocket (the
// key offered as a subprotocol) and downloads the result.
//
//   node upload.test.mjs --binary PATH/finishthisidea --fake-llm PATH/fake_llm_server --out DIR
//
// Holding the job mid-run: the LLM stage asks the fake LLM server (its own process, reached
// over HTTP like a real Ollama), which is told to hang every generation. The job sits in that
// stage, with the bar between 0 and 100, until the test stops the fake: its connections drop,
// the model counts as down, and the job finishes without it. No sleeps: every step waits for
// something observable, with a deadline.
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const STEP_MS = 60_000;      // one step (a page state, a server start)
const TOTAL_MS = 240_000;    // the whole test; ctest's TIMEOUT is above it

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error('usage: --binary B --fake-llm F --out DIR');
    args[argv[i].slice(2)] = argv[i + 1];
  }
  for (const name of ['binary', 'fake-llm', 'out']) {
    if (!args[name]) throw new Error('missing --' + name);
  }
  return args;
}

const args = parseArgs(process.argv.slice(2));
mkdirSync(args.out, { recursive: true });
const scratch = mkdtempSync(path.join(tmpdir(), 'fti-web-'));
const children = [];  // processes this test started, stopped on exit
let browser = null;
let page = null;
let serverLog = '';

function log(message) {
  console.log('web_ui: ' + message);
}

async function until(what, check, timeoutMs = STEP_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function start(file, argv, env, onOutput) {
  const child = spawn(file, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', onOutput);
  child.stderr.on('data', onOutput);
  return child;
}

function stop(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', resolve);
  });
}

// The environment without the caller's FTI_* settings: serve refuses unknown ones, and the
// test decides the configuration.
function cleanEnv(extra) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('FTI_')) env[name] = value;
  }
  return { ...env, ...extra };
}

async function startFakeLlm() {
  const portFile = path.join(scratch, 'fake-llm.port');
  const child = start(args['fake-llm'], ['--listen', '127.0.0.1:0', '--port-file', portFile], cleanEnv({}), () => {});
  const port = await until('the fake LLM server to start', () => existsSync(portFile) && readFileSync(portFile, 'utf8').trim());
  const url = 'http://127.0.0.1:' + port;
  const answer = await fetch(url + '/_fake/default', { method: 'POST', body: JSON.stringify({ kind: 'hang' }) });
  if (!answer.ok) throw new Error('the fake LLM server refused its script: ' + answer.status);
  return { child, url };
}

async function generations(url) {
  const answer = await fetch(url + '/_fake/stats');
  return (await answer.json()).generations;
}

async function startServer(dataDir, settings) {
  let output = '';
  const child = start(args.binary, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], cleanEnv(settings),
    (text) => { output += text; serverLog += text; });
  const port = await until('the server to start', () => {
    if (child.exitCode !== null) throw new Error('the server exited at start:\n' + output);
    const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(output);
    return match && match[1];
  });
  return { child, base: 'http://127.0.0.1:' + port };
}

async function newPage() {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1000, height: 620 } });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_MS);
  return page;
}

// A small messy codebase: a file the normalizer changes, a dependency folder that is junk, a
// secret (a finding), a Python file worth a model's rewrite (so the job reaches the LLM
// stage), and a file whose name is HTML (the page must show it as text).
const HOSTILE_NAME = '<img src=x onerror=window.__xss=1>.txt';

function makeArchive(name) {
  const tree = path.join(scratch, 'tree-' + name.replace(/\W/g, '_'));
  const write = (rel, text) => {
    mkdirSync(path.dirname(path.join(tree, rel)), { recursive: true });
    writeFileSync(path.join(tree, rel), text);
  };
  write('notes/todo.txt', 'first   \r\nsecond\t\r\n');
  write('notes/' + HOSTILE_NAME, 'hostile   \n');
  write('node_modules/left-pad/index.js', 'module.exports = (s) => s;\n');
  write('settings.py', "AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'\nDEBUG = True\n");
  write('tool.py',
    'import os\nimport sys\n\n\ndef main():\n    # old = compute()\n    print("hi")\n\n\n' +
    'if __name__ == "__main__":\n    main()\n');
  const zip = path.join(scratch, name);
  execFileSync('zip', ['-qr', zip, '.'], { cwd: tree });
  return zip;
}

// What the page shows, for a failure's report.
async function pageState() {
  if (!page) return '(no page)';
  try {
    return await page.evaluate(() => {
      const text = (id) => {
        const el = document.getElementById(id);
        return el ? (el.hidden ? '[hidden] ' : '') + el.textContent.replace(/\s+/g, ' ').trim() : '(missing)';
      };
      const bar = document.getElementById('job-progress');
      return [
        'upload error: ' + text('upload-error'),
        'progress: ' + (bar ? bar.getAttribute('aria-valuenow') : '?') + ' ' + text('job-stage'),
        'connection: ' + text('job-connection'),
        'job error: ' + text('job-error'),
        'report: ' + text('report-card').slice(0, 2000),
      ].join('\n');
    });
  } catch (e) {
    return '(the page cannot be read: ' + e.message + ')';
  }
}

async function progressValue() {
  return Number(await page.getAttribute('#job-progress', 'aria-valuenow'));
}

async function tableText(id) {
  return page.$eval('#' + id + ' tbody', (body) => body.textContent);
}

function check(condition, what) {
  if (!condition) throw new Error('check failed: ' + what);
}

// auth.mode "open": upload, the bar held mid-job, the report, the download, a drop.
async function openMode() {
  const fakeLlm = await startFakeLlm();
  const server = await startServer(path.join(scratch, 'data'), {
    FTI_LLM_MODE: 'auto',
    FTI_LLM_OLLAMA_URLS: fakeLlm.url,
    // The hanging call is ended by stopping the fake, never by a timeout during the test.
    FTI_LLM_FIRST_BYTE_TIMEOUT_MS: '600000',
    FTI_LLM_REQUEST_TIMEOUT_SECONDS: '600',
    FTI_LLM_MAX_RETRIES: '0',
  });
  log('server at ' + server.base + ', fake LLM at ' + fakeLlm.url);
  await newPage();
  const consoleErrors = [];
  page.on('console', (message) => { if (message.type() === 'error') consoleErrors.push(message.text()); });
  page.on('pageerror', (error) => consoleErrors.push(error.message));

  await page.goto(server.base + '/');
  check((await page.title()).includes('FinishThisIdea'), 'the page has its title');
  await page.waitForSelector('#drop-zone', { state: 'visible' });

  // Upload through the file input.
  const uploadName = 'messy-project.zip';
  const archive = makeArchive('messy.zip');
  await page.setInputFiles('#file-input', { name: uploadName, mimeType: 'application/zip', buffer: readFileSync(archive) });

  // Mid-job: the job is held in the LLM stage (the fake has the request and never answers).
  await until('the job to ask the (hanging) model', async () => (await generations(fakeLlm.url)) >= 1);
  // The bar follows the job's events to the stage where it is held.
  await page.waitForFunction(() => document.getElementById('job-progress').dataset.stage === 'llm');
  const midValue = await progressValue();
  check(midValue > 0 && midValue < 100, 'the bar is between 0 and 100 mid-job (it is ' + midValue + ')');
  check((await page.textContent('#job-name')) === uploadName, 'the upload name is shown');
  const screenshot = path.resolve(args.out, 'web-ui-mid-job.png');
  // The bar's width eases in; 'disabled' shows where it ends, as a person would see it.
  await page.screenshot({ path: screenshot, animations: 'disabled' });
  log('mid-job screenshot (progress ' + midValue + '%, ' + (await page.textContent('#job-stage')) + '): ' + screenshot);

  // Release the job: with the fake gone its connection drops and the model counts as down.
  await stop(fakeLlm.child);
  await page.waitForFunction(() => document.getElementById('job-progress').getAttribute('aria-valuenow') === '100');
  await page.waitForSelector('#report-card', { state: 'visible' });
  await page.waitForSelector('#changed-table tbody tr');

  const changed = await tableText('changed-table');
  const removed = await tableText('removed-table');
  check(changed.includes('notes/todo.txt'), 'the changed table lists notes/todo.txt: ' + changed);
  check(changed.includes('notes/' + HOSTILE_NAME), 'a file named like HTML is listed as text: ' + changed);
  check(removed.includes('node_modules/'), 'the removed table lists node_modules/: ' + removed);
  const findings = await tableText('findings-table');
  check(findings.includes('settings.py:1') && !findings.includes('AKIAIOSFODNN7EXAMPLE'),
    'the findings table lists the secret at settings.py:1, masked: ' + findings);
  check(await page.evaluate(() => window.__xss === undefined), 'no markup from the server ran');
  const summary = await page.textContent('#report-summary');
  check(summary.trim().length > 0, 'the summary is shown');
  log('report shown: ' + summary.trim());

  // Download the result: a zip holding the cleaned file.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const saved = path.join(scratch, 'download.zip');
  await download.saveAs(saved);
  const bytes = readFileSync(saved);
  check(bytes.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])), 'the download is a zip');
  check(download.suggestedFilename() === 'messy-project-clean.zip', 'the download is named messy-project-clean.zip: ' +
    download.suggestedFilename());
  const cleaned = execFileSync('unzip', ['-p', saved, 'notes/todo.txt'], { encoding: 'utf8' });
  check(cleaned === 'first\nsecond\n', 'the downloaded notes/todo.txt is cleaned: ' + JSON.stringify(cleaned));
  const listing = execFileSync('unzip', ['-Z1', saved], { encoding: 'utf8' });
  check(!listing.includes('node_modules/'), 'the download has no node_modules/');
  log('downloaded ' + download.suggestedFilename() + ' (' + bytes.length + ' bytes) with the cleaned file');

  // The drop zone: a file dropped on it is uploaded like a chosen one, under a name that is
  // HTML (shown as text, never parsed).
  await page.click('#again');
  const dropped = readFileSync(makeArchive('dropped.zip')).toString('base64');
  await page.evaluate((base64) => {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const transfer = new DataTransfer();
    transfer.items.add(new File([bytes], '<b>dropped</b>.zip', { type: 'application/zip' }));
    const zone = document.getElementById('drop-zone');
    zone.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: transfer }));
    zone.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: transfer }));
  }, dropped);
  await page.waitForFunction(() => document.getElementById('job-name').textContent === '<b>dropped</b>.zip');
  check((await page.$('#job-name b')) === null, 'the dropped file name was not parsed as HTML');
  await page.waitForFunction(() => document.getElementById('job-progress').getAttribute('aria-valuenow') === '100');
  await page.waitForSelector('#report-card', { state: 'visible' });
  check((await tableText('removed-table')).includes('node_modules/'), 'the dropped archive was cleaned too');
  log('a dropped archive was uploaded and cleaned');

  // The Markdown report behind its link.
  const markdown = await page.evaluate(async () => {
    const answer = await fetch(document.getElementById('report-md').href);
    return answer.headers.get('Content-Type') + ' ' + (await answer.text());
  });
  check(markdown.startsWith('text/markdown') && markdown.includes('node_modules/'), 'the Markdown report link works: ' + markdown);

  // A job that fails shows its error code and message.
  await page.click('#again');
  const truncated = readFileSync(archive).subarray(0, 300);
  await page.setInputFiles('#file-input', { name: 'truncated.zip', mimeType: 'application/zip', buffer: truncated });
  await page.waitForSelector('#job-error', { state: 'visible' });
  const failure = (await page.textContent('#job-error')).replace(/\s+/g, ' ');
  check((await page.textContent('#job-error-code')) === 'bad_archive', 'the failure shows its code: ' + failure);
  check((await page.textContent('#job-error-message')).length > 0, 'the failure shows its message: ' + failure);
  log('a truncated archive: ' + failure.trim());

  check(consoleErrors.length === 0, 'no errors in the browser console: ' + consoleErrors.join(' | '));

  // Without its WebSocket (every attempt closed at once) the page polls the job instead.
  await newPage();
  let refused = 0;
  await page.routeWebSocket(/\/events$/, (socket) => {
    refused += 1;
    socket.close();
  });
  await page.goto(server.base + '/');
  await page.setInputFiles('#file-input', { name: 'polled.zip', mimeType: 'application/zip', buffer: readFileSync(archive) });
  // Every socket closed before a message: only polling can bring the report.
  await page.waitForSelector('#report-card', { state: 'visible' });
  check(refused === 4, 'the page tried the socket 4 times before polling (it tried ' + refused + ')');
  check((await tableText('removed-table')).includes('node_modules/'), 'the polled job shows its report');
  log('with the WebSocket refused, the page polled the job to its report');
  await stop(server.child);
}

// auth.mode "api_key": refused without a key; with one saved on the page, the upload, the
// job's WebSocket (the key offered as a subprotocol) and the download all pass. With S3
// storage (`s3`: s3rver's endpoint and bucket) the download comes from the bucket: the page
// asks for the link (?link=1) and opens it, as its own fetch may not follow the redirect to
// another origin.
async function apiKeyMode(s3) {
  const dataDir = path.join(scratch, s3 ? 'data-keys-s3' : 'data-keys');
  const settings = { FTI_AUTH_MODE: 'api_key' };
  if (s3) settings.FTI_STORAGE_URL = 's3://' + s3.bucket + '?endpoint=' + s3.endpoint + '&region=us-east-1';
  const created = execFileSync(args.binary, ['keys', 'create', '--tenant', 'web', '--data-dir', dataDir],
    { env: cleanEnv(settings), encoding: 'utf8' });
  const key = /^key\s+(\S+)/m.exec(created)?.[1];
  check(key, 'keys create printed a key');
  const server = await startServer(dataDir, settings);
  log('api_key server at ' + server.base + (s3 ? ', storage in s3rver' : ''));
  await newPage();
  // Frames of the job's socket, whose URL carries no key (nothing after /events).
  const frames = [];
  page.on('websocket', (socket) => {
    if (socket.url().endsWith('/events')) socket.on('framereceived', (frame) => frames.push(String(frame.payload)));
  });
  await page.goto(server.base + '/');
  const archive = readFileSync(makeArchive('keyed.zip'));
  const upload = () => page.setInputFiles('#file-input', { name: 'keyed.zip', mimeType: 'application/zip', buffer: archive });

  await upload();
  await page.waitForSelector('#upload-error', { state: 'visible' });
  const refusal = await page.textContent('#upload-error');
  check(refusal.includes('API key'), 'without a key the upload is refused with a hint: ' + refusal);

  await page.click('#api-key-panel summary');
  await page.fill('#api-key', key);
  await page.click('#api-key-form button[type=submit]');
  await upload();
  await page.waitForSelector('#report-card', { state: 'visible' });
  check(frames.some((f) => f.includes('"type":"completed"')), 'the job was followed over its WebSocket: ' + frames.length + ' frames');
  check((await page.textContent('#job-connection')) === '', 'the live connection never dropped');

  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
  const saved = path.join(scratch, 'keyed-download.zip');
  await download.saveAs(saved);
  check(readFileSync(saved).subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04])), 'the keyed download is a zip');
  check(download.suggestedFilename() === 'keyed-clean.zip', 'the keyed download is named keyed-clean.zip: ' +
    download.suggestedFilename());
  if (s3) check(download.url().startsWith(s3.endpoint + '/' + s3.bucket + '/results/'), 'the download came from the bucket: ' + download.url());
  log('api_key mode' + (s3 ? ' with S3' : '') + ': refused without a key; with one, ' + frames.length +
    ' WebSocket events and the download');
  await stop(server.child);
}

async function run() {
  browser = await chromium.launch({
    executablePath: process.env.FTITEST_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // As root (containers, CI) Chromium's sandbox cannot start.
    args: ['--no-sandbox'],
  });
  await openMode();
  await apiKeyMode(null);
  if (process.env.FTITEST_S3_ENDPOINT) {
    await apiKeyMode({ endpoint: process.env.FTITEST_S3_ENDPOINT, bucket: process.env.FTITEST_S3_BUCKET });
  } else if (process.env.FTITEST_REQUIRE_SERVICES === '1') {
    throw new Error('FTITEST_S3_ENDPOINT is not set but FTITEST_REQUIRE_SERVICES=1: start s3rver with tests/tools/start-s3rver');
  } else {
    log('FTITEST_S3_ENDPOINT is not set: the api_key download from S3 is skipped (scripts/test starts s3rver)');
  }
}

async function cleanUp() {
  if (browser) await browser.close().catch(() => {});
  await Promise.all(children.map(stop));
  removeScratch();
}

// KEEP_TEST_TEMP=1 keeps the folder for debugging, as the C++ tests do.
function removeScratch() {
  if (process.env.KEEP_TEST_TEMP === '1') console.error('KEEP_TEST_TEMP=1: keeping ' + scratch);
  else rmSync(scratch, { recursive: true, force: true, maxRetries: 3 });  // children may be dying still
}

const watchdog = setTimeout(() => {
  console.error('web_ui: FAILED: the test took longer than ' + TOTAL_MS / 1000 + ' s');
  for (const child of children) child.kill('SIGKILL');
  removeScratch();
  process.exit(1);
}, TOTAL_MS);

try {
  await run();
  log('1 passed, 0 failed');
} catch (error) {
  console.error('web_ui: FAILED: ' + error.message);
  console.error('--- what the page showed ---\n' + (await pageState()));
  if (page) {
    const shot = path.resolve(args.out, 'web-ui-failure.png');
    await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
    console.error('--- screenshot: ' + shot);
  }
  console.error('--- server log (last 4000 characters) ---\n' + serverLog.slice(-4000));
  process.exitCode = 1;
} finally {
  clearTimeout(watchdog);
  await cleanUp();
}
