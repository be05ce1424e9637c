'use strict';
// inspekt live dashboard. One EventSource (/api/events, at most 4 updates/s) drives the
// counters, the live image and the time charts; the history API feeds the table, the
// detail view and the score histogram. Plain DOM, no framework, no build step.

const KEY_STORAGE = 'inspekt.key';
const PAGE_SIZE = 50;
const CHART_WINDOW_S = 120;
const TABLE_MIN_INTERVAL_MS = 1000;
const SUMMARY_INTERVAL_MS = 5000;
const RECONNECT_DELAY_MS = 5000;
const ERROR_SHOWN_MS = 15000;
const HISTOGRAM_BINS = 40;

const $ = (id) => document.getElementById(id);

/* ---------- api key, URLs and requests ---------- */
let apiKey = initialKey();
let keyWanted = false;

function initialKey() {
  const params = new URLSearchParams(location.search);
  const given = params.get('api_key');
  if (given) {
    sessionStorage.setItem(KEY_STORAGE, given);
    // Keep the key out of the address bar, and so out of links people copy.
    params.delete('api_key');
    const rest = params.toString();
    history.replaceState(null, '', location.pathname + (rest ? `?${rest}` : '') + location.hash);
  }
  return sessionStorage.getItem(KEY_STORAGE) || '';
}

/** A same-origin URL for path with the query parameters set and the api key added. */
function apiUrl(path, query = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== '') url.searchParams.set(name, value);
  }
  if (apiKey) url.searchParams.set('api_key', apiKey);
  return url.pathname + url.search;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error) return body.error;
  } catch { /* not JSON: fall back to the status */ }
  return `${response.status} ${response.statusText}`.trim();
}

/** The JSON answer, or null once the failure is shown (key form or status line). */
async function api(path, { query, method = 'GET', body } = {}) {
  const init = body
    ? { method, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }
    : { method };
  let response;
  try {
    response = await fetch(apiUrl(path, query), init);
  } catch (err) {
    reportError(`cannot reach the server (${err.message})`, true);
    return null;
  }
  clearNetworkError();
  if (!response.ok) {
    const message = await errorMessage(response);
    if (response.status === 401) askForKey(message); else reportError(message);
    return null;
  }
  return response.json().catch(() => {
    reportError(`unreadable answer from ${path}`);
    return null;
  });
}

function askForKey(message) {
  if (keyWanted) return;
  keyWanted = true;
  $('key-message').textContent = apiKey
    ? `The api key was not accepted (${message}). Key:`
    : 'This server needs an api key:';
  apiKey = '';
  sessionStorage.removeItem(KEY_STORAGE);
  disconnectEvents();
  setConnection('waiting for the api key', 'warn');
  $('key-form').hidden = false;
  $('key-input').focus();
}

$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const value = $('key-input').value.trim();
  if (!value) return;
  apiKey = value;
  sessionStorage.setItem(KEY_STORAGE, value);
  keyWanted = false;
  $('key-input').value = '';
  $('key-form').hidden = true;
  live.shownSeq = null; // the image failed without the key: load it again
  start();
});

/* ---------- status line and recording warning ---------- */
const statusState = { connection: 'connecting…', level: 'info', error: '', network: false, errorTimer: 0 };
const recording = { on: true, problem: null };

function setConnection(text, level) {
  statusState.connection = text;
  statusState.level = level;
  renderStatus();
}

/** Show message for a while; a network error goes as soon as the server answers again. */
function reportError(message, network = false) {
  statusState.error = message;
  statusState.network = network;
  clearTimeout(statusState.errorTimer);
  statusState.errorTimer = setTimeout(() => { statusState.error = ''; renderStatus(); }, ERROR_SHOWN_MS);
  renderStatus();
}

function clearNetworkError() {
  if (!statusState.network) return;
  statusState.error = '';
  statusState.network = false;
  renderStatus();
}

function renderStatus() {
  const parts = [statusState.connection];
  if (!recording.on) parts.push(`history not recorded: ${recording.problem || 'unknown problem'}`);
  if (statusState.error) parts.push(statusState.error);
  const line = $('status');
  line.textContent = parts.join(' · ');
  line.dataset.level = statusState.error ? 'error' : !recording.on ? 'warn' : statusState.level;
}

function applyRecording(on, problem) {
  if (typeof on !== 'boolean') return;
  recording.on = on;
  recording.problem = problem || null;
  const warning = $('recording-warning');
  warning.hidden = on;
  warning.textContent = on ? '' : `History cannot be written${problem ? `: ${problem}` : ''}. ` +
    'Parts are still inspected, but new inspections are not saved for the table or review.';
  renderStatus();
}

/* ---------- formatting ---------- */
const clock = new Intl.DateTimeFormat(undefined,
  { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

/** Milliseconds since 1970 from ISO 8601; extra fraction digits (Python's microseconds)
    are cut, since not every browser parses them. */
const parseTime = (iso) => Date.parse(String(iso).replace(/(\.\d{3})\d+/, '$1'));

/** Local time with milliseconds, and the date when it is not today. */
function formatTime(value) {
  const date = new Date(typeof value === 'string' ? parseTime(value) : value);
  if (Number.isNaN(date.getTime())) return value == null ? '' : String(value);
  const time = `${clock.format(date)}.${String(date.getMilliseconds()).padStart(3, '0')}`;
  return date.toDateString() === new Date().toDateString()
    ? time : `${date.toLocaleDateString()} ${time}`;
}

function formatNumber(value, digits) {
  return typeof value === 'number' && Number.isFinite(value) ? value.toFixed(digits) : '–';
}

const formatScore = (value) => formatNumber(value, Math.abs(value) >= 100 ? 1 : 3);
const formatMs = (value) => formatNumber(value, 1);
const resultLabel = (result) => ({ ok: 'OK', nok: 'NOK', error: 'ERROR' })[result] || '–';
const resultClass = (result) => `result-${['ok', 'nok', 'error'].includes(result) ? result : 'none'}`;

function setBadge(element, result) {
  element.textContent = resultLabel(result);
  element.className = element.className.replace(/\bresult-\w+/, resultClass(result));
}

/** A new element with text; never parses markup, so data cannot inject any. */
function make(tag, text = '', className = '') {
  const element = document.createElement(tag);
  if (text) element.textContent = text;
  if (className) element.className = className;
  return element;
}

/* ---------- server-sent events ---------- */
let events = null;
let reconnectTimer = 0;

function connectEvents() {
  disconnectEvents();
  setConnection('connecting…', 'info');
  events = new EventSource(apiUrl('/api/events'));
  events.onopen = () => {
    clearNetworkError();
    setConnection('live', 'ok');
  };
  events.addEventListener('update', (event) => {
    let update;
    try {
      update = JSON.parse(event.data);
    } catch {
      reportError('unreadable update from the server');
      return;
    }
    onUpdate(update);
  });
  events.onerror = () => {
    breakLines = true;
    if (events.readyState === EventSource.CONNECTING) {
      setConnection('connection lost, reconnecting…', 'warn');
      return;
    }
    // CLOSED: the server answered with an error status, which EventSource does not retry.
    disconnectEvents();
    setConnection(`disconnected, retrying in ${RECONNECT_DELAY_MS / 1000} s`, 'error');
    diagnoseEvents();
  };
}

function disconnectEvents() {
  clearTimeout(reconnectTimer);
  if (events) events.close();
  events = null;
}

/** EventSource hides why it failed: ask once with fetch, then retry unless a key is needed. */
async function diagnoseEvents() {
  const abort = new AbortController();
  try {
    const response = await fetch(apiUrl('/api/events'), { signal: abort.signal });
    if (response.status === 401) askForKey(await errorMessage(response));
    else if (!response.ok) reportError(await errorMessage(response));
    else abort.abort(); // the stream works now: do not keep a second one open
  } catch { /* still unreachable: the retry below says so */ }
  if (!keyWanted) reconnectTimer = setTimeout(connectEvents, RECONNECT_DELAY_MS);
}

function onUpdate(update) {
  const counts = update.counts || {};
  $('count-ok').textContent = String(counts.ok ?? 0);
  $('count-nok').textContent = String(counts.nok ?? 0);
  $('count-error').textContent = String(counts.error ?? 0);
  const yieldPercent = update.yield_percent;
  $('yield').textContent = yieldPercent == null ? '–' : `${formatNumber(yieldPercent, 1)} %`;
  applyRecording(update.recording, update.problem);
  if (update.last) {
    live.wanted = update.last;
    loadLiveImage();
    noteThreshold(update.last.threshold);
  }
  addSample(update);
  drawTimeCharts();
  scheduleTableRefresh();
}

/* ---------- live image ---------- */
// At most one image load in flight: a new seq only starts a load when the last one is
// done; the newest seq seen meanwhile is loaded next, the ones between are skipped.
// The badge and facts change with the image, so that they always describe the same part.
const live = { wanted: null, loading: null, shownSeq: null };
const liveImage = $('live-image');

function renderLive(last) {
  setBadge($('live-result'), last.result);
  $('live-score').textContent = last.threshold == null
    ? formatScore(last.score) : `${formatScore(last.score)} / ${formatScore(last.threshold)}`;
  $('live-ms').textContent = `${formatMs(last.total_ms)} ms`;
  $('live-data').textContent = last.data || '–';
}

function loadLiveImage() {
  if (live.loading || !live.wanted || live.wanted.seq === live.shownSeq) return;
  live.loading = live.wanted;
  liveImage.src = apiUrl('/api/live/annotated.jpg', { seq: live.loading.seq });
}

function liveImageDone(loaded) {
  renderLive(live.loading);
  live.shownSeq = live.loading.seq;
  live.loading = null;
  $('live-frame').classList.toggle('empty', !loaded);
  loadLiveImage();
}

liveImage.addEventListener('load', () => liveImageDone(true));
liveImage.addEventListener('error', () => liveImageDone(false));

/* ---------- canvas charts ---------- */
const css = getComputedStyle(document.documentElement);
const colors = Object.fromEntries(['muted', 'grid', 'accent', 'accent-2', 'nok', 'bar']
  .map((name) => [name, css.getPropertyValue(`--${name}`).trim()]));

/** Size the canvas to its CSS box at the screen's pixel density; the drawing context. */
function prepareCanvas(canvas) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);
  ctx.font = '11px system-ui, sans-serif';
  const plot = { left: 40, top: 6, right: width - 8, bottom: height - 18 };
  return { ctx, width, height, plot };
}

/** A 1, 2 or 5 times a power of ten step that splits span into about count parts. */
function niceStep(span, count) {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const digit = raw / power;
  return power * (digit <= 1 ? 1 : digit <= 2 ? 2 : digit <= 5 ? 5 : 10);
}

const tickLabel = (value) => String(+value.toFixed(6));

/** Horizontal grid lines with labels from 0 to the first step above max; the y scale. */
function drawYAxis(ctx, plot, max) {
  const step = niceStep(max > 0 ? max : 1, 3);
  const top = Math.max(step, Math.ceil(max / step) * step);
  const y = (value) => plot.bottom - (value / top) * (plot.bottom - plot.top);
  Object.assign(ctx, { strokeStyle: colors.grid, fillStyle: colors.muted, lineWidth: 1,
    textAlign: 'right', textBaseline: 'middle' });
  for (let value = 0; value <= top + step / 2; value += step) {
    const at = Math.round(y(value)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(plot.left, at);
    ctx.lineTo(plot.right, at);
    ctx.stroke();
    ctx.fillText(tickLabel(value), plot.left - 4, at);
  }
  return y;
}

function drawNote(ctx, width, height, text) {
  Object.assign(ctx, { fillStyle: colors.muted, textAlign: 'center', textBaseline: 'middle' });
  ctx.fillText(text, width / 2, height / 2);
}

/** Lines of [t, value] points (null values break the line) over the window ending at end. */
function drawLineChart(canvas, end, series) {
  const { ctx, width, height, plot } = prepareCanvas(canvas);
  if (!series.some((line) => line.points.length)) {
    drawNote(ctx, width, height, 'waiting for updates');
    return;
  }
  let max = 0;
  for (const line of series) for (const [, value] of line.points) if (value > max) max = value;
  const y = drawYAxis(ctx, plot, max);
  const start = end - CHART_WINDOW_S;
  const x = (t) => plot.left + ((t - start) / CHART_WINDOW_S) * (plot.right - plot.left);
  Object.assign(ctx, { textBaseline: 'alphabetic', fillStyle: colors.muted });
  [[start, 'left', '−2 min'], [start + CHART_WINDOW_S / 2, 'center', '−1 min'], [end, 'right', 'now']]
    .forEach(([t, align, label]) => { ctx.textAlign = align; ctx.fillText(label, x(t), plot.bottom + 14); });
  Object.assign(ctx, { lineWidth: 1.5, lineJoin: 'round' });
  for (const line of series) {
    ctx.strokeStyle = line.color;
    ctx.beginPath();
    let drawing = false;
    for (const [t, value] of line.points) {
      if (value == null) { drawing = false; continue; }
      if (drawing) ctx.lineTo(x(t), y(value)); else ctx.moveTo(x(t), y(value));
      drawing = true;
    }
    ctx.stroke();
  }
}

/* ---------- throughput and latency over time ---------- */
const samples = []; // {t: server seconds, throughput, p50, p95}, oldest first
let breakLines = false; // set when the stream drops, so that the lines do not bridge the gap

function addSample(update) {
  const t = parseTime(update.time) / 1000;
  if (!Number.isFinite(t)) return;
  const latency = update.latency_ms || {};
  if (breakLines) samples.push({ t, throughput: null, p50: null, p95: null });
  breakLines = false;
  samples.push({ t, throughput: update.throughput, p50: latency.p50 ?? null, p95: latency.p95 ?? null });
  while (samples[0].t < t - CHART_WINDOW_S) samples.shift();
  $('throughput-now').textContent = `${formatNumber(update.throughput, 1)} images/s`;
  $('latency-now').textContent = `${formatMs(latency.p50)} / ${formatMs(latency.p95)} ms`;
}

// The window ends at the newest update's server time: updates only come when something
// changed, so a quiet line freezes the charts at their last state rather than guessing.
function drawTimeCharts() {
  const end = samples.length ? samples[samples.length - 1].t : 0;
  drawLineChart($('throughput-chart'), end,
    [{ color: colors.accent, points: samples.map((s) => [s.t, s.throughput]) }]);
  drawLineChart($('latency-chart'), end, [
    { color: colors.accent, points: samples.map((s) => [s.t, s.p50]) },
    { color: colors['accent-2'], points: samples.map((s) => [s.t, s.p95]) },
  ]);
}

/* ---------- score histogram ---------- */
let scores = [];
let threshold = null;
let summaryBusy = false;

function noteThreshold(value) {
  if (typeof value !== 'number' || value === threshold) return;
  threshold = value;
  drawHistogram();
}

async function refreshSummary() {
  if (summaryBusy || keyWanted || document.hidden) return;
  summaryBusy = true;
  const summary = await api('/api/summary');
  summaryBusy = false;
  if (!summary) return;
  scores = (summary.scores || []).filter(Number.isFinite);
  $('histogram-caption').textContent = `latest ${scores.length} of ${summary.total ?? scores.length}`;
  applyRecording(summary.recording, summary.problem);
  drawHistogram();
}

function drawHistogram() {
  const { ctx, width, height, plot } = prepareCanvas($('score-histogram'));
  if (!scores.length) {
    drawNote(ctx, width, height, 'no scores yet');
    return;
  }
  let low = threshold ?? Infinity; // the range includes the threshold, to always show its line
  let high = threshold ?? -Infinity;
  for (const score of scores) {
    low = Math.min(low, score);
    high = Math.max(high, score);
  }
  if (high === low) { // one value only: give it a visible range around it
    const pad = Math.abs(low) * 0.1 || 0.5;
    low -= pad;
    high += pad;
  }
  const bins = new Array(HISTOGRAM_BINS).fill(0);
  for (const score of scores) {
    bins[Math.min(HISTOGRAM_BINS - 1, Math.floor(((score - low) / (high - low)) * HISTOGRAM_BINS))] += 1;
  }
  const y = drawYAxis(ctx, plot, Math.max(...bins));
  const x = (value) => plot.left + ((value - low) / (high - low)) * (plot.right - plot.left);
  const binWidth = (plot.right - plot.left) / HISTOGRAM_BINS;
  ctx.fillStyle = colors.bar;
  bins.forEach((count, i) => {
    const left = plot.left + i * binWidth + 0.5;
    if (count) ctx.fillRect(left, y(count), Math.max(1, binWidth - 1), plot.bottom - y(count));
  });
  Object.assign(ctx, { fillStyle: colors.muted, textBaseline: 'alphabetic', textAlign: 'left' });
  ctx.fillText(tickLabel(+low.toPrecision(3)), plot.left, plot.bottom + 14);
  ctx.textAlign = 'right';
  ctx.fillText(tickLabel(+high.toPrecision(3)), plot.right, plot.bottom + 14);
  if (threshold === null) return;
  const at = Math.round(x(threshold)) + 0.5;
  Object.assign(ctx, { strokeStyle: colors.nok, fillStyle: colors.nok, textBaseline: 'top' });
  ctx.setLineDash([4, 3]);
  ctx.beginPath();
  ctx.moveTo(at, plot.top);
  ctx.lineTo(at, plot.bottom);
  ctx.stroke();
  ctx.setLineDash([]);
  ctx.textAlign = at > (plot.left + plot.right) / 2 ? 'right' : 'left'; // label on the roomy side
  ctx.fillText(` ${formatScore(threshold)} `, at, plot.top);
}

/* ---------- inspections table ---------- */
const table = {
  filter: '', cursor: null, browsing: false, // browsing: older pages shown, refresh paused
  busy: false, dirty: false, lastRun: 0, timer: 0,
  generation: 0, // bumped by every request; an answer for an older one is dropped
};
const tbody = $('inspections').tBodies[0];

function scheduleTableRefresh() {
  if (table.browsing) return; // keep older pages still while the user reads them
  table.dirty = true;
  if (table.timer || table.busy) return;
  const wait = Math.max(0, table.lastRun + TABLE_MIN_INTERVAL_MS - Date.now());
  table.timer = setTimeout(loadFirstPage, wait);
}

async function loadFirstPage() {
  clearTimeout(table.timer);
  table.timer = 0;
  table.dirty = false;
  table.lastRun = Date.now();
  table.busy = true;
  table.browsing = false;
  const generation = ++table.generation;
  const page = await api('/api/inspections', { query: { result: table.filter, limit: PAGE_SIZE } });
  if (generation !== table.generation) return; // a newer request owns the table now
  table.busy = false;
  if (page) {
    showRows(page.items, false);
    setCursor(page.next_cursor);
  }
  if (table.dirty) scheduleTableRefresh();
}

// Supersedes a refresh in flight: the cursor belongs to the rows shown now.
async function loadMore() {
  if (table.cursor === null) return;
  clearTimeout(table.timer);
  table.timer = 0;
  table.busy = true;
  table.browsing = true;
  $('more').disabled = true;
  const generation = ++table.generation;
  const page = await api('/api/inspections',
    { query: { result: table.filter, limit: PAGE_SIZE, cursor: table.cursor } });
  if (generation !== table.generation) return;
  table.busy = false;
  if (page) showRows(page.items, true);
  setCursor(page ? page.next_cursor : table.cursor);
}

function setCursor(cursor) {
  table.cursor = cursor ?? null;
  $('more').disabled = table.cursor === null;
  $('table-note').hidden = !table.browsing;
}

function showRows(items, append) {
  const rows = document.createDocumentFragment();
  for (const record of items) rows.append(rowFor(record));
  if (append) {
    tbody.append(rows);
    return;
  }
  if (!items.length) {
    const row = make('tr');
    const cell = make('td', 'No inspections yet.', 'empty');
    cell.colSpan = 6;
    row.append(cell);
    rows.append(row);
  }
  tbody.replaceChildren(rows);
  if (threshold === null && items.length) noteThreshold(items[0].threshold);
}

function rowFor(record) {
  const row = make('tr');
  row.dataset.id = record.id;
  row.classList.toggle('selected', record.id === detail.id);
  if (record.error) row.title = record.error;
  const result = make('td');
  result.append(make('span', resultLabel(record.result), `badge small ${resultClass(record.result)}`));
  const review = record.review ? `verdict ${record.review.verdict}` : '';
  row.append(make('td', formatTime(record.time)), result,
    make('td', formatScore(record.score), 'num'), make('td', formatMs(record.total_ms), 'num'),
    make('td', record.data || ''), make('td', review, review ? `review-${record.review.verdict}` : ''));
  return row;
}

$('filter-result').addEventListener('change', (event) => {
  table.filter = event.target.value;
  loadFirstPage();
});
$('more').addEventListener('click', loadMore);
$('table-live').addEventListener('click', loadFirstPage);
tbody.addEventListener('click', (event) => {
  const row = event.target.closest('tr[data-id]');
  if (row) openDetail(Number(row.dataset.id));
});

/* ---------- detail view ---------- */
const detail = { id: null, record: null, generation: 0 };

async function openDetail(id) {
  detail.id = id;
  detail.record = null;
  const generation = ++detail.generation;
  for (const row of tbody.rows) row.classList.toggle('selected', Number(row.dataset.id) === id);
  $('detail-title').textContent = `Inspection #${id}`;
  $('detail-summary').textContent = 'loading…';
  // Hide the previous inspection so that its review buttons cannot act on this one.
  $('detail-body').hidden = true;
  $('detail').hidden = false;
  $('detail-close').focus();
  const record = await api(`/api/inspections/${encodeURIComponent(id)}`);
  if (generation !== detail.generation) return;
  if (!record) {
    $('detail-summary').textContent = 'This inspection could not be loaded (see the status line).';
    return;
  }
  detail.record = record;
  renderDetail(record);
  $('detail-body').hidden = false;
}

function closeDetail() {
  detail.id = null;
  detail.generation += 1; // drops an answer still on its way
  $('detail').hidden = true;
  for (const row of tbody.querySelectorAll('tr.selected')) row.classList.remove('selected');
}

function showImage(img, path) {
  img.hidden = !path;
  if (path) img.src = apiUrl(path); else img.removeAttribute('src');
}

function renderDetail(record) {
  setBadge($('detail-result'), record.result);
  $('detail-title').textContent = `Inspection #${record.id} · ${formatTime(record.time)}`;
  const facts = [`score ${formatScore(record.score)}`, `threshold ${formatScore(record.threshold)}`,
    `${formatMs(record.total_ms)} ms`, `rectangles: ${record.n_rectangles ?? 0}`];
  if (record.data) facts.push(`data ${record.data}`);
  if (record.endpoint) facts.push(`via ${record.endpoint}`);
  if (record.error) facts.push(`error: ${record.error}`);
  $('detail-summary').textContent = facts.join(' · ');

  const images = record.images || {};
  const main = images.annotated || images.input;
  showImage($('detail-image'), main);
  $('detail-image-note').hidden = Boolean(main);
  $('detail-image-caption').textContent = images.annotated ? 'Annotated' : images.input ? 'Input' : '';
  showImage($('detail-heatmap'), images.heatmap);
  $('detail-heatmap-figure').hidden = !images.heatmap;

  const moduleMs = record.module_ms || {};
  const models = record.models || {};
  const timings = $('detail-timings').tBodies[0];
  timings.replaceChildren(...[...new Set([...Object.keys(moduleMs), ...Object.keys(models)])]
    .map((module) => {
      const row = make('tr');
      row.append(make('td', module), make('td', formatMs(moduleMs[module]), 'num'),
        make('td', models[module] == null ? '' : String(models[module])));
      return row;
    }));
  $('detail-total').textContent = formatMs(record.total_ms);

  const rectangles = record.rectangles || [];
  $('detail-rectangles').replaceChildren(...(rectangles.length
    ? rectangles.map(rectangleItem) : [make('li', 'none', 'aside')]));
  $('detail-context').textContent = JSON.stringify(record.context ?? {}, null, 2);
  renderReview(record);
}

function rectangleItem(rect) {
  const item = make('li');
  const classes = rect.classNames || [];
  const swatch = make('span', '', 'swatch');
  if (classes[0] && classes[0].color) swatch.style.backgroundColor = classes[0].color;
  // a class's confidence is PEKAT's whole percentage; the rectangle's own is 0..1
  const labels = classes.map((c) => `${c.label} ${formatNumber(c.confidence, 0)} %`).join(', ');
  item.append(swatch, make('span', `${labels || 'unlabelled'} · confidence ` +
    `${formatNumber(rect.confidence, 2)} · at ${rect.x}, ${rect.y} size ${rect.width}×${rect.height}`));
  return item;
}

function renderReview(record) {
  const review = record.review;
  const images = record.images || {};
  // The server only learns from OK/NOK verdicts whose input image was kept.
  const reason = !['ok', 'nok'].includes(record.result) ? 'Only OK and NOK results can be reviewed.'
    : !images.input ? 'No input image was kept, so there is nothing to learn from.' : '';
  for (const [id, verdict] of [['review-wrong', 'wrong'], ['review-right', 'right']]) {
    $(id).disabled = Boolean(reason);
    $(id).setAttribute('aria-pressed', String(Boolean(review) && review.verdict === verdict));
  }
  $('review-undo').hidden = !review;
  $('review-undo').disabled = false;
  const box = $('review-status');
  if (!review) {
    box.replaceChildren(make('p', reason || 'Not reviewed.', 'aside'));
    return;
  }
  const files = make('ul', '', 'files');
  files.append(...(review.files || []).map((file) => make('li', file)));
  box.replaceChildren(
    make('p', `Reviewed: verdict ${review.verdict}, ${formatTime(review.time * 1000)}.`),
    make('p', review.files && review.files.length ? 'Copied to:' : 'No files copied.', 'aside'),
    files);
}

async function sendReview(verdict) {
  const id = detail.id;
  const buttons = ['review-wrong', 'review-right', 'review-undo'].map($);
  buttons.forEach((button) => { button.disabled = true; });
  const record = await api(`/api/inspections/${encodeURIComponent(id)}/review`,
    verdict ? { method: 'POST', body: { verdict } } : { method: 'DELETE' });
  if (id !== detail.id || !detail.record) return;
  if (record) {
    // The answer is the plain record: keep the rectangles and context already shown.
    detail.record = { ...detail.record, ...record };
    const row = tbody.querySelector(`tr[data-id="${id}"]`);
    if (row) row.replaceWith(rowFor(detail.record));
  }
  renderReview(detail.record);
}

$('review-wrong').addEventListener('click', () => sendReview('wrong'));
$('review-right').addEventListener('click', () => sendReview('right'));
$('review-undo').addEventListener('click', () => sendReview(null));
$('detail-close').addEventListener('click', closeDetail);
$('detail').addEventListener('click', (event) => {
  if (event.target === event.currentTarget) closeDetail(); // a click on the dimmed backdrop
});
document.addEventListener('keydown', (event) => {
  if (event.key === 'Escape' && !$('detail').hidden) closeDetail();
});

/* ---------- start ---------- */
function start() {
  connectEvents();
  loadFirstPage();
  refreshSummary();
  loadLiveImage();
}

let resizeTimer = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => { drawTimeCharts(); drawHistogram(); }, 150);
});
setInterval(refreshSummary, SUMMARY_INTERVAL_MS);
drawTimeCharts();
drawHistogram();
start();
