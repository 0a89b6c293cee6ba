// app.js: the operator page's behaviour: voices, speech played here, announcements, the queue and the cache.
'use strict';

const $ = (id) => document.getElementById(id);
const KEY_STORE = 'bark.apiKey';
const QUEUE_EVERY_MS = 3000;
let apiKey = sessionStorage.getItem(KEY_STORE) || '';
let needKey = false;
let playerUrl = null;

// A request to this server, with the API key when there is one; a 401 shows the key form.
async function api(method, path, body) {
  const headers = {};
  if (apiKey) headers.Authorization = 'Bearer ' + apiKey;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  if (r.status === 401) askKey();
  return r;
}

// The message of an error response (OpenAI's {"error": {"message"}}), else its status.
async function errorOf(r, what) {
  let msg = 'HTTP ' + r.status;
  try {
    const j = await r.json();
    if (j && j.error && j.error.message) msg += ': ' + j.error.message;
  } catch (e) { /* not JSON: the status says it */ }
  return what + ' failed (' + msg + ')';
}

function setStatus(text, state) {
  $('status').textContent = text;
  $('status').dataset.state = state;
}

function note(el, text, isError) {
  el.textContent = text;
  el.className = isError ? 'error' : 'note';
}

function askKey() {
  needKey = true;
  $('auth').hidden = false;
  $('key').focus();
}

function cell(tr, text, cls) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function button(label, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.addEventListener('click', onclick);
  return b;
}

// ---- the server and its voices ----

async function loadServer() {
  const r = await api('GET', '/health');
  if (r.ok) {
    const h = await r.json();
    $('server').textContent = h.model + ' · bark ' + h.version + ' · ' + h.status;
  } else {
    $('server').textContent = r.status === 401 ? 'API key needed' : 'health: HTTP ' + r.status;
  }
}

async function loadVoices() {
  const sel = $('voice');
  const r = await api('GET', '/v1/voices');
  if (!r.ok) {
    sel.replaceChildren(new Option(r.status === 401 ? '(API key needed)' : '(no voices)', ''));
    if (r.status !== 401) setStatus(await errorOf(r, 'Listing the voices'), 'error');
    return;
  }
  const {voices} = await r.json();
  sel.replaceChildren(...voices.map((v) => new Option(v.language ? v.name + ' (' + v.language + ')' : v.name, v.name)));
  if (!voices.length) sel.replaceChildren(new Option('(the model has no voices)', ''));
}

// ---- speech played here ----

// The streamed WAV's header says 0xFFFFFFFF for its sizes (its length was unknown): the real ones, so that the
// player shows the duration. Returns the seconds of audio, or -1 when the bytes are not a WAV.
function fixWav(bytes) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (at) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 44 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE') return -1;
  v.setUint32(4, bytes.length - 8, true);
  let byteRate = 0;
  for (let at = 12; at + 8 <= bytes.length;) {
    const size = v.getUint32(at + 4, true);
    if (tag(at) === 'fmt ' && at + 16 <= bytes.length) byteRate = v.getUint32(at + 16, true);
    if (tag(at) === 'data') {
      v.setUint32(at + 4, bytes.length - at - 8, true);
      return byteRate ? (bytes.length - at - 8) / byteRate : -1;
    }
    at += 8 + size + (size & 1);
  }
  return -1;
}

async function speak(text, voice, seed) {
  const body = {model: 'bark', input: text, voice: voice, response_format: 'wav'};
  if (seed !== undefined && seed !== null) body.seed = seed;
  $('play').disabled = true;
  setStatus('Generating…', 'busy');
  try {
    const r = await api('POST', '/v1/audio/speech', body);
    if (!r.ok) return setStatus(await errorOf(r, 'Speech'), 'error');
    const bytes = new Uint8Array(await r.arrayBuffer());
    const seconds = fixWav(bytes);
    if (seconds < 0) return setStatus('Speech failed: the answer is not a WAV file', 'error');
    if (playerUrl) URL.revokeObjectURL(playerUrl);
    playerUrl = URL.createObjectURL(new Blob([bytes], {type: 'audio/wav'}));
    $('player').src = playerUrl;
    $('player').play().catch(() => { /* the browser may want a click on the player first */ });
    setStatus(seconds.toFixed(2) + ' s of audio (' + bytes.length + ' bytes, seed ' +
              r.headers.get('X-Bark-Seed') + ')', 'ok');
    loadCache();
  } catch (e) {
    setStatus('Speech failed: ' + e.message, 'error');
  } finally {
    $('play').disabled = false;
  }
}

// ---- announcements on the loudspeaker and their queue ----

async function announce() {
  const body = {text: $('text').value, voice: $('voice').value, priority: $('priority').value};
  $('announce').disabled = true;
  try {
    const r = await api('POST', '/v1/announce', body);
    if (r.status === 404) {
      setStatus('This server has no loudspeaker queue (POST /v1/announce: 404).', 'error');
    } else if (!r.ok) {
      setStatus(await errorOf(r, 'Announcing'), 'error');
    } else {
      const a = await r.json();
      setStatus('Announcement ' + a.id + ' queued at position ' + a.position + '.', 'ok');
      loadQueue();
    }
  } catch (e) {
    setStatus('Announcing failed: ' + e.message, 'error');
  } finally {
    $('announce').disabled = false;
  }
}

async function cancel(id) {
  const r = await api('DELETE', '/v1/queue/' + encodeURIComponent(id));
  if (!r.ok && r.status !== 404) note($('queue-msg'), await errorOf(r, 'Cancelling ' + id), true);
  loadQueue();
}

async function loadQueue() {
  const list = $('queue-list');
  const r = await api('GET', '/v1/queue');
  if (!r.ok) {
    list.replaceChildren();
    $('queue-playing').textContent = '–';
    if (r.status === 404) note($('queue-msg'), 'This server has no loudspeaker queue (GET /v1/queue: 404).', false);
    else note($('queue-msg'), await errorOf(r, 'Reading the queue'), true);
    return;
  }
  const q = await r.json();
  const waiting = q.waiting || [];
  note($('queue-msg'), waiting.length ? '' : 'Nothing waiting.', false);
  $('queue-playing').textContent = q.playing ? '“' + q.playing.text + '” (' + q.playing.voice + ')' : 'nothing';
  list.replaceChildren(...waiting.map((a) => {
    const tr = document.createElement('tr');
    tr.dataset.id = a.id;
    cell(tr, a.id);
    cell(tr, a.text, 'text');
    cell(tr, a.voice);
    cell(tr, a.priority);
    cell(tr, a.state);
    cell(tr, '').appendChild(button('Cancel', () => cancel(a.id)));
    return tr;
  }));
}

// ---- the cache ----

function when(t) {
  if (typeof t === 'number') return new Date(t * 1000).toLocaleString(); // seconds since the epoch
  return t === undefined || t === null ? '' : String(t);
}

async function loadCache() {
  const list = $('cache-list');
  const r = await api('GET', '/v1/cache');
  if (!r.ok) {
    list.replaceChildren();
    if (r.status === 404) note($('cache-msg'), 'This server has no cache (GET /v1/cache: 404).', false);
    else note($('cache-msg'), await errorOf(r, 'Reading the cache'), true);
    return;
  }
  const entries = (await r.json()).entries || [];
  note($('cache-msg'), entries.length ? '' : 'The cache is empty.', false);
  list.replaceChildren(...entries.map((e) => {
    const tr = document.createElement('tr');
    tr.dataset.key = e.key;
    cell(tr, e.text, 'text');
    cell(tr, e.voice);
    cell(tr, e.seed);
    cell(tr, typeof e.bytes === 'number' ? (e.bytes / 1024).toFixed(1) + ' KB' : e.bytes);
    cell(tr, when(e.last_used));
    cell(tr, '').appendChild(button('Listen', () => speak(e.text, e.voice, e.seed)));
    return tr;
  }));
}

// ---- start ----

function loadAll() {
  return Promise.all([loadServer(), loadVoices(), loadQueue(), loadCache()]);
}

document.addEventListener('DOMContentLoaded', () => {
  $('auth-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    apiKey = $('key').value;
    sessionStorage.setItem(KEY_STORE, apiKey);
    needKey = false;
    $('auth').hidden = true;
    loadAll();
  });
  $('play').addEventListener('click', () => speak($('text').value, $('voice').value));
  $('announce').addEventListener('click', announce);
  $('cache-refresh').addEventListener('click', loadCache);
  setInterval(() => { if (!needKey && !document.hidden) loadQueue(); }, QUEUE_EVERY_MS);
  loadAll();
});
