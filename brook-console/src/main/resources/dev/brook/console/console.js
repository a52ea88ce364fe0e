'use strict';
// The Brook console page: polls the JSON API every second (no reload, no external requests).
const api = (p) => 'api/' + p;
let previous = null;       // the last overview, for rates
let openDl = null;         // {kind, name} of the open dead-letter panel
let openDj = null;         // {kind, name} of the open delayed-jobs panel

const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(k == null ? '' : String(k)));
  return e;
};

function token() {
  return $('token').value || sessionStorage.getItem('brook-token') || '';
}

function say(text, refused) {
  const m = $('message');
  m.textContent = text;
  m.className = refused ? 'refused' : '';
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { m.textContent = ''; }, 6000);
}

async function act(action, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (token()) headers['Authorization'] = 'Bearer ' + token();
  const r = await fetch(api(action), { method: 'POST', headers, body: JSON.stringify(body) });
  const j = await r.json().catch(() => ({}));
  if (!r.ok) {
    say('Refused (' + r.status + '): ' + (j.error || r.statusText), true);
    document.body.dataset.lastAction = 'refused';
    return null;
  }
  say(action + ': ' + JSON.stringify(j));
  document.body.dataset.lastAction = 'ok';
  refresh();
  return j;
}

function renderBrokers(brokers) {
  const body = $('brokers').tBodies[0];
  body.replaceChildren(...brokers.map((b) => el('tr', { 'data-id': b.id, 'data-app': b.app },
    el('td', {}, b.app), el('td', { class: 'small' }, b.id.slice(0, 8)), el('td', {}, b.host), el('td', {}, b.pid),
    el('td', {}, b.version), el('td', {}, new Date(b.startedAt).toLocaleTimeString()),
    el('td', {}, ...(b.subscriptions || []).map((s) => el('span', { class: 'sub', 'data-sub': s.id },
      s.id + ' → ' + s.kind + ':' + s.destination + ' ',
      el('span', { class: 'state-' + s.state }, s.paused ? 'PAUSED' : s.state),
      ' ' + s.handled + ' handled, ' + s.failed + ' failed',
      s.paused || s.state !== 'RUNNING'
        ? el('button', { class: 'resume', onclick: () => act('resume', { subscription: s.id }) }, 'Resume')
        : el('button', { class: 'pause', onclick: () => act('pause', { subscription: s.id }) }, 'Pause')))))));
  $('broker-count').textContent = '(' + brokers.length + ')';
}

function rate(d, field, now) {
  if (!previous) return '–';
  const p = previous.destinations.find((x) => x.kind === d.kind && x.name === d.name);
  if (!p) return '–';
  const secs = (now - previous.now) / 1000;
  return secs > 0 ? Math.max(0, (d[field] - p[field]) / secs).toFixed(1) : '–';
}

function backlog(d) {
  if (d.error) return el('span', { class: 'error' }, d.error);
  if (d.kind === 'stream') {
    return el('div', {}, ...(d.groups || []).map((g) => el('div', {},
      'group ' + g.name + ': lag ' + (g.lag == null ? '?' : g.lag) + ', pending ' + g.pending,
      ...(g.consumers || []).map((c) => el('div', { class: 'small' }, '  consumer ' + c.name + ': pending ' + c.pending + ', idle ' + c.idle + ' ms')),
      ...(g.pendingEntries || []).map((p) => el('div', { class: 'small' }, '  ' + p.id + ' at ' + p.consumer + ', idle ' + p.idleMs + ' ms, ' + p.deliveries + ' deliveries')))));
  }
  if (d.kind === 'list') {
    return el('div', {}, ...(d.processing || []).map((p) => el('div', { class: 'small' }, 'processing ' + p.consumer + ': ' + p.length)));
  }
  return '';
}

function renderDestinations(o) {
  const body = $('destinations').tBodies[0];
  body.replaceChildren(...o.destinations.map((d) => el('tr', { 'data-destination': d.name, 'data-kind': d.kind },
    el('td', {}, d.kind),
    el('td', {}, d.name, d.messages ? el('div', { class: 'small documented' }, 'AsyncAPI: ' + d.messages.join(', ')) : ''),
    el('td', {}, d.length == null ? '' : d.length),
    el('td', {}, rate(d, 'received', o.now)), el('td', {}, rate(d, 'handled', o.now)), el('td', {}, d.failed),
    el('td', { class: 'dl-count' }, d.deadLetters == null ? '' : d.deadLetters,
      d.deadLetters == null ? '' : el('button', { class: 'show-dl', onclick: () => openDeadLetters(d.kind, d.name) }, 'Show')),
    el('td', { class: 'dj-count' }, d.delayed == null ? '' : d.delayed,
      d.delayed == null ? '' : el('button', { class: 'show-dj', onclick: () => openDelayed(d.kind, d.name) }, 'Show')),
    el('td', {}, backlog(d)))));
}

function openDeadLetters(kind, name) {
  openDl = { kind, name };
  $('dead-letters').hidden = false;
  $('dl-name').textContent = kind + ':' + name;
  refreshDeadLetters();
}

async function refreshDeadLetters() {
  if (!openDl) return;
  const r = await fetch(api('deadletters?kind=' + encodeURIComponent(openDl.kind) + '&destination=' + encodeURIComponent(openDl.name)));
  const j = await r.json();
  $('dl-count').textContent = '(' + j.count + ')';
  $('dl-list').replaceChildren(...j.deadLetters.map((m) => el('div', { class: 'letter', 'data-id': m.id },
    el('div', { class: 'error' }, m.error),
    el('div', { class: 'small' }, 'id ' + m.id + (m.attempts ? ', attempts ' + m.attempts : '') + (m.correlationId ? ', correlation id ' + m.correlationId : '') + ', ' + m.format),
    el('pre', { class: 'payload' }, m.payload),
    el('pre', { class: 'headers small' }, JSON.stringify(m.headers, null, 1)),
    el('button', { class: 'replay', onclick: () => act('replay', { kind: openDl.kind, destination: openDl.name, id: m.id }) }, 'Replay'),
    el('button', { class: 'delete danger', onclick: () => act('delete', { kind: openDl.kind, destination: openDl.name, id: m.id }) }, 'Delete'))));
}

function openDelayed(kind, name) {
  openDj = { kind, name };
  $('delayed').hidden = false;
  $('dj-name').textContent = kind + ':' + name;
  refreshDelayed();
}

function inTime(ms) {
  const s = Math.round(ms / 1000);
  return s <= 0 ? 'due now' : 'in ' + (s < 120 ? s + ' s' : Math.round(s / 60) + ' min');
}

async function refreshDelayed() {
  if (!openDj) return;
  const r = await fetch(api('delayed?kind=' + encodeURIComponent(openDj.kind) + '&destination=' + encodeURIComponent(openDj.name)));
  const j = await r.json();
  $('dj-count').textContent = '(' + j.count + ')';
  $('dj-list').replaceChildren(...j.delayed.map((m) => el('div', { class: 'letter job', 'data-id': m.id },
    el('div', { class: 'due' }, 'due ' + new Date(m.dueAt).toLocaleString() + ' (' + inTime(m.dueAt - j.now) + ')'),
    el('div', { class: 'small' }, (m.attempts ? 'attempts ' + m.attempts + ', ' : '') + (m.correlationId ? 'correlation id ' + m.correlationId + ', ' : '') + m.format),
    el('pre', { class: 'payload' }, m.payload),
    el('pre', { class: 'headers small' }, JSON.stringify(m.headers, null, 1)),
    el('button', { class: 'promote', onclick: () => act('promote', { kind: openDj.kind, destination: openDj.name, id: m.id }) }, 'Promote now'))));
}

function renderSchedules(schedules) {
  $('schedules').tBodies[0].replaceChildren(...(schedules || []).map((s) => el('tr', { 'data-schedule': s.name },
    el('td', {}, s.name), el('td', {}, s.lastTick == null ? '?' : new Date(s.lastTick).toLocaleString()))));
  $('schedule-count').textContent = '(' + (schedules || []).length + ')';
}

async function refresh() {
  try {
    const r = await fetch(api('overview'));
    const o = await r.json();
    $('mode').textContent = o.readOnly ? 'read-only' : '';
    $('token-box').hidden = !o.tokenRequired;
    renderBrokers(o.brokers);
    renderDestinations(o);
    renderSchedules(o.schedules);
    previous = o;
    $('status').textContent = 'updated ' + new Date(o.now).toLocaleTimeString();
    document.body.dataset.loaded = 'true';
    await refreshDeadLetters();
    await refreshDelayed();
  } catch (e) {
    $('status').textContent = 'cannot reach the console: ' + e;
  }
}

document.addEventListener('DOMContentLoaded', () => {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) sessionStorage.setItem('brook-token', decodeURIComponent(m[1]));
  $('token').addEventListener('change', () => sessionStorage.setItem('brook-token', $('token').value));
  $('dj-close').addEventListener('click', () => { openDj = null; $('delayed').hidden = true; });
  $('dl-close').addEventListener('click', () => { openDl = null; $('dead-letters').hidden = true; });
  $('dl-replay-all').addEventListener('click', () => act('replay', { kind: openDl.kind, destination: openDl.name,
    header: $('dl-header').value || null, value: $('dl-value').value || null }));
  $('dl-purge').addEventListener('click', () => { if (confirm('Purge every dead letter of ' + openDl.name + '?')) act('purge', { kind: openDl.kind, destination: openDl.name }); });
  $('publish').addEventListener('submit', (e) => {
    e.preventDefault();
    act('publish', { kind: $('pub-kind').value, destination: $('pub-destination').value, payload: $('pub-payload').value });
  });
  // #open=kind:name opens a dead-letter panel (a link to share, and for the browser tests).
  const open = location.hash.match(/open=([a-z]+):([^&]+)/);
  if (open) openDeadLetters(open[1], decodeURIComponent(open[2]));
  const delayed = location.hash.match(/delayed=([a-z]+):([^&]+)/);
  if (delayed) openDelayed(delayed[1], decodeURIComponent(delayed[2]));
  refresh();
  setInterval(refresh, 1000);
});
