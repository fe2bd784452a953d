// The web page's script: upload an archive, follow the job live, show the report, download.
// Plain JavaScript with no build step. Everything the server sends (file names above all: an
// uploaded archive names its own files) is shown with textContent, never parsed as HTML.
'use strict';

(function () {
  const API = '/api/v1/jobs';
  const KEY_STORAGE = 'fti.apiKey';
  // The WebSocket subprotocols the server reads a key from (a browser cannot set headers on
  // a WebSocket; a key in the URL would land in access logs). See src/api/auth.cpp.
  const WS_PROTOCOL = 'finishthisidea';
  const WS_KEY_PREFIX = 'bearer.';
  const MAX_RECONNECTS = 3;   // then the page polls GET /api/v1/jobs/{id}
  const POLL_MS = 1500;
  const MAX_ROWS = 500;       // per table; the Markdown report has the rest

  // The pipeline's stage names (src/cleanup) in words; another stage shows as it is named.
  const STAGE_NAMES = {
    fetch: 'Fetching the upload',
    extract: 'Unpacking',
    junk: 'Removing junk',
    normalize: 'Normalizing text',
    format: 'Formatting',
    inventory: 'Taking stock of the code',
    secrets: 'Scanning for secrets',
    llm: 'Improving the code with a model',
    pack: 'Packing the result',
    done: 'Done',
  };

  const $ = (id) => document.getElementById(id);

  // ---- The API key (api_key mode) ---------------------------------------------------------

  function apiKey() {
    try {
      return (localStorage.getItem(KEY_STORAGE) || '').trim();
    } catch (e) {
      return '';  // storage disabled: open mode still works
    }
  }

  function authHeaders() {
    const key = apiKey();
    return key ? { Authorization: 'Bearer ' + key } : {};
  }

  function showKeyState() {
    const key = apiKey();
    $('api-key').value = key;
    $('api-key-state').textContent = key
      ? 'A key is saved in this browser (localStorage).'
      : 'No key saved. Kept in this browser only (localStorage).';
  }

  function setupKeyForm() {
    $('api-key-form').addEventListener('submit', (event) => {
      event.preventDefault();
      try {
        localStorage.setItem(KEY_STORAGE, $('api-key').value.trim());
      } catch (e) {
        $('api-key-state').textContent = 'This browser does not allow saving the key.';
        return;
      }
      showKeyState();
    });
    $('api-key-forget').addEventListener('click', () => {
      try {
        localStorage.removeItem(KEY_STORAGE);
      } catch (e) { /* nothing saved */ }
      showKeyState();
    });
    showKeyState();
  }

  // ---- Small helpers ----------------------------------------------------------------------

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  // The message of a problem+json answer, or a plain description of the status.
  async function problemText(response) {
    try {
      const problem = await response.json();
      const text = problem.detail || problem.title;
      if (text) return { code: problem.code || String(response.status), message: String(text) };
    } catch (e) { /* not JSON */ }
    return { code: String(response.status), message: 'the server answered ' + response.status };
  }

  function formatCount(n) {
    return typeof n === 'number' ? n.toLocaleString('en') : '0';
  }

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    if (className) td.className = className;
    return td;
  }

  // Fills a table's body with rows built by `makeRow`, at most MAX_ROWS of them.
  function fillTable(tableId, items, makeRow, emptyText) {
    const body = $(tableId).tBodies[0];
    body.replaceChildren();
    const columns = $(tableId).tHead.rows[0].cells.length;
    const note = (text) => {
      const tr = document.createElement('tr');
      const td = cell(text, 'muted');
      td.colSpan = columns;
      tr.appendChild(td);
      body.appendChild(tr);
    };
    if (!items.length) {
      note(emptyText);
      return;
    }
    for (const item of items.slice(0, MAX_ROWS)) body.appendChild(makeRow(item));
    if (items.length > MAX_ROWS) {
      note('and ' + formatCount(items.length - MAX_ROWS) + ' more: see the Markdown report');
    }
  }

  // ---- Upload -----------------------------------------------------------------------------

  let busy = false;

  function uploadError(text) {
    $('upload-error').textContent = text;
    show('upload-error', true);
    show('upload-status', false);
    $('drop-zone').classList.remove('disabled');
    busy = false;
  }

  // XMLHttpRequest, not fetch: only it reports upload progress.
  function upload(file) {
    if (busy) return;
    busy = true;
    show('upload-error', false);
    $('drop-zone').classList.add('disabled');
    $('upload-name').textContent = file.name;
    $('upload-progress').value = 0;
    $('upload-percent').textContent = '0%';
    show('upload-status', true);

    const xhr = new XMLHttpRequest();
    xhr.open('POST', API + '?filename=' + encodeURIComponent(file.name));
    // The server sniffs the archive type from its first bytes.
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (event) => {
      if (!event.lengthComputable) return;
      const percent = Math.floor((100 * event.loaded) / event.total);
      $('upload-progress').value = percent;
      $('upload-percent').textContent = percent + '%';
    });
    xhr.addEventListener('load', () => {
      const body = xhr.response || {};
      if (xhr.status === 201 && body.id) {
        show('upload-status', false);
        followJob(body, file.name);
        return;
      }
      const detail = body.detail || body.title || 'the server answered ' + xhr.status;
      const hint = xhr.status === 401 ? ' Save an API key above.' : '';
      uploadError('The upload was refused: ' + detail + hint);
    });
    xhr.addEventListener('error', () => {
      uploadError('The upload failed: the connection ended early (is the file over the size limit, or the server down?)');
    });
    xhr.send(file);
  }

  function setupUpload() {
    const zone = $('drop-zone');
    const input = $('file-input');
    input.addEventListener('change', () => {
      if (input.files && input.files[0]) upload(input.files[0]);
      input.value = '';  // choosing the same file again still fires "change"
    });
    zone.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        input.click();
      }
    });
    zone.addEventListener('click', (event) => {
      if (event.target === input || event.target.closest('label')) return;  // the label opens it
      input.click();
    });
    for (const name of ['dragenter', 'dragover']) {
      zone.addEventListener(name, (event) => {
        event.preventDefault();
        zone.classList.add('over');
      });
    }
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', (event) => {
      event.preventDefault();
      zone.classList.remove('over');
      const files = event.dataTransfer && event.dataTransfer.files;
      if (files && files.length) upload(files[0]);
    });
    // A file dropped beside the zone must not make the browser leave the page to open it.
    window.addEventListener('dragover', (event) => event.preventDefault());
    window.addEventListener('drop', (event) => event.preventDefault());
  }

  // ---- Following a job --------------------------------------------------------------------

  // The job being shown; a new upload replaces it and stops the old one's socket and polling.
  let current = null;

  function setProgress(percent, stage) {
    const value = Math.max(0, Math.min(100, Math.round(Number(percent) || 0)));
    const bar = $('job-progress');
    bar.setAttribute('aria-valuenow', String(value));
    const label = STAGE_NAMES[stage] || stage || '';
    bar.setAttribute('aria-valuetext', value + '%' + (label ? ', ' + label : ''));
    if (stage) bar.dataset.stage = stage;  // the pipeline's own name, for scripts and tests
    $('job-progress-fill').style.width = value + '%';
    $('job-percent').textContent = value + '%';
    if (label) $('job-stage').textContent = label;
  }

  function followJob(job, name) {
    if (current) current.stop();
    const state = { id: job.id, done: false, socket: null, timer: null, reconnects: 0 };
    state.stop = () => {
      state.done = true;
      if (state.socket) state.socket.close();
      clearTimeout(state.timer);
    };
    current = state;
    $('job-name').textContent = name;
    $('job-progress').classList.remove('failed', 'complete');
    show('job-error', false);
    show('report-card', false);
    show('job-card', true);
    show('again-row', false);
    setProgress(0, '');
    delete $('job-progress').dataset.stage;
    $('job-stage').textContent = 'Waiting for a worker';
    onJobState(state, job);
    if (!state.done) connect(state);
  }

  // A job object (from an event, the upload or a poll).
  function onJobState(state, job) {
    if (state.done || !job) return;
    switch (job.status) {
      case 'succeeded':
        setProgress(100, 'done');
        finish(state, job);
        return;
      case 'failed':
      case 'cancelled':
        fail(state, job);
        return;
      case 'retrying':
        setProgress(job.progress, job.stage);
        $('job-stage').textContent = 'An attempt failed; retrying (' + job.attempt + ' of ' + job.max_attempts + ' used)';
        return;
      case 'queued':
        $('job-stage').textContent = 'Waiting for a worker';
        return;
      default:
        setProgress(job.progress, job.stage);
    }
  }

  function connect(state) {
    const scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    const url = scheme + location.host + API + '/' + encodeURIComponent(state.id) + '/events';
    const key = apiKey();
    let socket;
    try {
      socket = key ? new WebSocket(url, [WS_PROTOCOL, WS_KEY_PREFIX + key]) : new WebSocket(url);
    } catch (e) {
      poll(state);  // e.g. a key with characters a subprotocol cannot carry
      return;
    }
    state.socket = socket;
    socket.addEventListener('open', () => {
      state.reconnects = 0;
      $('job-connection').textContent = '';
    });
    socket.addEventListener('message', (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (message.type === 'progress') {
        if (!state.done) setProgress(message.progress, message.stage);
      } else {
        onJobState(state, message.job);
      }
    });
    socket.addEventListener('close', () => {
      if (state.done || state.socket !== socket) return;
      state.socket = null;
      if (state.reconnects < MAX_RECONNECTS) {
        state.reconnects += 1;
        $('job-connection').textContent = 'The live connection dropped; reconnecting...';
        state.timer = setTimeout(() => connect(state), 500 * 2 ** state.reconnects);
        return;
      }
      $('job-connection').textContent = 'No live connection; checking every few seconds.';
      poll(state);
    });
  }

  async function poll(state) {
    if (state.done) return;
    try {
      const response = await fetch(API + '/' + encodeURIComponent(state.id), { headers: authHeaders() });
      if (response.ok) {
        onJobState(state, await response.json());
      } else if (response.status === 401 || response.status === 404) {
        const problem = await problemText(response);
        fail(state, { status: 'failed', error: problem });
        return;
      }
    } catch (e) { /* offline for a moment: try again */ }
    if (!state.done) state.timer = setTimeout(() => poll(state), POLL_MS);
  }

  function fail(state, job) {
    state.stop();
    $('job-progress').classList.add('failed');
    const error = job.error || {};
    $('job-error-code').textContent = error.code || job.status;
    $('job-error-message').textContent = error.message || (job.status === 'cancelled' ? 'the job was cancelled' : '');
    $('job-stage').textContent = job.status === 'cancelled' ? 'Cancelled' : 'Failed';
    $('job-connection').textContent = '';
    show('job-error', true);
    show('again-row', true);
    $('drop-zone').classList.remove('disabled');
    busy = false;
  }

  async function finish(state, job) {
    state.stop();
    $('job-progress').classList.add('complete');
    $('job-connection').textContent = '';
    busy = false;
    $('drop-zone').classList.remove('disabled');
    try {
      const response = await fetch(API + '/' + encodeURIComponent(job.id) + '/report', { headers: authHeaders() });
      if (!response.ok) {
        const problem = await problemText(response);
        throw new Error(problem.code + ': ' + problem.message);
      }
      showReport(job, await response.json());
    } catch (e) {
      $('job-error-code').textContent = 'report';
      $('job-error-message').textContent = 'The job succeeded, but its report could not be read: ' + e.message;
      show('job-error', true);
    }
    show('again-row', true);
  }

  // ---- The report -------------------------------------------------------------------------

  function severityBadge(severity) {
    const td = document.createElement('td');
    const badge = document.createElement('span');
    const known = ['critical', 'high', 'medium', 'low', 'info'];
    badge.className = 'badge ' + (known.includes(severity) ? severity : 'other');
    badge.textContent = severity || 'unknown';
    td.appendChild(badge);
    return td;
  }

  function showReport(job, report) {
    const changed = report.changed || [];
    const removed = report.removed || [];
    const findings = report.findings || [];
    $('report-summary').textContent = report.summary || '';
    $('stat-files-in').textContent = formatCount(report.files_in);
    $('stat-files-out').textContent = formatCount(report.files_out);
    $('stat-changed').textContent = formatCount(changed.length);
    $('stat-removed').textContent = formatCount(removed.reduce((n, r) => n + (r.files || 1), 0));
    $('stat-findings').textContent = formatCount(findings.length);

    fillTable('changed-table', changed, (c) => {
      const tr = document.createElement('tr');
      const path = cell(c.path, 'path');
      if (c.created) {
        const tag = document.createElement('span');
        tag.className = 'tag';
        tag.textContent = 'new';
        path.append(' ', tag);
      }
      tr.append(path, cell((c.passes || []).join(', ')), cell('+' + formatCount(c.lines_added), 'num added'),
                cell('\u2212' + formatCount(c.lines_removed), 'num removed'));
      return tr;
    }, 'No file needed changes.');

    fillTable('removed-table', removed, (r) => {
      const tr = document.createElement('tr');
      tr.append(cell(r.path, 'path'), cell(r.reason), cell(formatCount(r.files || 1), 'num'));
      return tr;
    }, 'Nothing was removed.');

    fillTable('findings-table', findings, (f) => {
      const tr = document.createElement('tr');
      const where = cell(f.path + (f.line ? ':' + f.line : ''), 'path');
      const what = cell(f.message);
      if (f.rule) {
        const rule = document.createElement('span');
        rule.className = 'rule';
        rule.textContent = f.rule;
        what.append(' ', rule);
      }
      tr.append(severityBadge(f.severity), where, what);
      return tr;
    }, 'No findings.');

    const languages = Object.entries(report.languages || {}).sort((a, b) => b[1].files - a[1].files);
    fillTable('languages-table', languages, ([name, stats]) => {
      const tr = document.createElement('tr');
      tr.append(cell(name), cell(formatCount(stats.files), 'num'), cell(formatCount(stats.lines), 'num'));
      return tr;
    }, 'No source files recognized.');

    const base = API + '/' + encodeURIComponent(job.id);
    setupDownload($('download'), base + '/result', true);
    setupDownload($('report-md'), base + '/report?format=md', false);
    show('report-card', true);
  }

  // Without a key a plain link downloads (streamed by the browser, redirects to a store
  // followed). With one, the request needs its Authorization header: fetched, then saved.
  // A `linkable` download may live in another origin's store (S3), where a fetch may not
  // follow (connect-src, the bucket's CORS): its link is asked for first and opened.
  function setupDownload(link, url, linkable) {
    link.href = url;
    link.onclick = async (event) => {
      if (!apiKey()) return;
      event.preventDefault();
      try {
        if (linkable && await openStoreLink(url)) return;
        const response = await fetch(url, { headers: authHeaders() });
        if (!response.ok) throw new Error((await problemText(response)).message);
        const disposition = response.headers.get('Content-Disposition') || '';
        const match = /filename="([^"]*)"/.exec(disposition);
        const objectUrl = URL.createObjectURL(await response.blob());
        const save = document.createElement('a');
        save.href = objectUrl;
        if (link.hasAttribute('download')) save.download = match ? match[1] : '';
        else save.target = '_blank';
        document.body.appendChild(save);
        save.click();
        save.remove();
        setTimeout(() => URL.revokeObjectURL(objectUrl), 60000);
      } catch (e) {
        $('job-error-code').textContent = 'download';
        $('job-error-message').textContent = 'The download failed: ' + e.message;
        show('job-error', true);
      }
    };
  }

  // Opens the store's presigned link of a download; false when the server serves the bytes
  // itself (a local store).
  async function openStoreLink(url) {
    const response = await fetch(url + '?link=1', { headers: authHeaders() });
    if (!response.ok) throw new Error((await problemText(response)).message);
    const direct = (await response.json()).url;
    if (!direct) return false;
    const open = document.createElement('a');
    open.href = direct;  // the store's answer names the file (Content-Disposition: attachment)
    open.rel = 'noopener';
    document.body.appendChild(open);
    open.click();
    open.remove();
    return true;
  }

  function setupAgain() {
    $('again').addEventListener('click', () => {
      if (current) current.stop();
      current = null;
      show('job-card', false);
      show('report-card', false);
      show('again-row', false);
      $('drop-zone').focus();
    });
  }

  setupKeyForm();
  setupUpload();
  setupAgain();
})();
