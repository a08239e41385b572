// Sonarly console: a client of the public API, nothing more.
//
// The API key lives in this tab's sessionStorage and goes out as `Authorization: Bearer` on
// every call to the same /v1 routes any client uses, so scopes and group isolation are the
// API's own. Every number shown is a field of an API answer; nothing is recomputed here
// except sums for layout (a bar's width). Pages are built with DOM calls, never by parsing HTML,
// so no text from the API can become markup.
'use strict';

const KEY = 'sonarly.key';
const GROUP = 'sonarly.group';
const session = { key: null, scopes: new Set(), groups: [], group: null, keyName: '' };
let timer = null; // the current page's refresh timer
let generation = 0; // bumps on every navigation; stale loads drop their result

// ---------------------------------------------------------------------------------------
// DOM helpers

function h(tag, attrs, ...children) {
  const svg = ['svg', 'rect', 'text', 'line', 'g', 'title'].includes(tag);
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k in el && !svg && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const $ = (sel, root = document) => root.querySelector(sel);
const can = (scope) => session.scopes.has(scope);

function toast(text, kind = 'ok') {
  const t = $('#toast');
  t.textContent = text;
  t.dataset.kind = kind;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, kind === 'error' ? 9000 : 4000);
}

function when(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

function statusBadge(status, cls) {
  const good = ['connected', 'completed', 'active', 'sent', 'evaluated', 'approved'];
  const warn = ['limited', 'recovering', 'queued', 'running', 'sending', 'draft', 'pending', 'waiting'];
  const tone = good.includes(status) ? 'good' : warn.includes(status) ? 'warn' : ['stopped', 'cancelled'].includes(status) ? 'neutral' : 'bad';
  return h('span', { class: `status ${tone} ${cls || ''}` }, status);
}

function table(head, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {}, h('thead', {}, h('tr', {}, head.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, rows)));
}

function field(label, control, cls) {
  return h('label', { class: cls || '' }, label, control);
}

// ---------------------------------------------------------------------------------------
// The API

class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || [];
  }
}

async function api(method, path, body, extraHeaders) {
  const headers = { Authorization: `Bearer ${session.key}`, Accept: 'application/json', ...(extraHeaders || {}) };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  } catch (e) {
    throw new ApiError(0, 'NETWORK_ERROR', 'The server could not be reached.');
  }
  let env = null;
  try { env = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok || !env || !env.success) {
    const err = (env && env.error) || {};
    const error = new ApiError(res.status, err.code || `HTTP_${res.status}`, err.message || res.statusText, err.fields);
    if (res.status === 401 && session.key && !session.signingIn) { signOut(`${error.code}: ${error.message}`); }
    throw error;
  }
  return env.data;
}

const g = (path) => `/v1/accounts/${encodeURIComponent(session.group)}${path}`;
const q = (params) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') s.set(k, v);
  const text = s.toString();
  return text ? `?${text}` : '';
};

function explain(e) {
  const fields = (e.fields || []).map((f) => `${f.field}: ${f.message || f.reason || ''}`).join('; ');
  return `${e.code}: ${e.message}${fields ? ` (${fields})` : ''}`;
}

async function act(fn, done) {
  try {
    const out = await fn();
    if (done) toast(done);
    return out;
  } catch (e) {
    toast(explain(e), 'error');
    return undefined;
  }
}

function idempotencyKey() {
  return (crypto.randomUUID && crypto.randomUUID()) || `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

// ---------------------------------------------------------------------------------------
// Session

async function signIn(key) {
  session.key = key;
  const me = await api('GET', '/v1/api-keys/current');
  const groups = await api('GET', '/v1/accounts?limit=100');
  session.scopes = new Set(me.scopes || []);
  session.keyName = me.name || '';
  session.groups = groups.items || [];
  const saved = sessionStorage.getItem(GROUP);
  session.group = session.groups.some((x) => x.id === saved) ? saved : (session.groups[0] || {}).id || null;
  sessionStorage.setItem(KEY, key);
  if (session.group) sessionStorage.setItem(GROUP, session.group);
  renderChrome();
}

function signOut(reason) {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(GROUP);
  Object.assign(session, { key: null, scopes: new Set(), groups: [], group: null });
  $('#top').hidden = true;
  if (reason) toast(reason, 'error');
  location.hash = '#/signin';
  route();
}

const PAGES = [
  ['seats', 'Seats'], ['prospecting', 'Prospecting'], ['inbox', 'Inbox'],
  ['campaigns', 'Campaigns'], ['templates', 'Signals & templates'], ['events', 'Events'],
];

function renderChrome() {
  $('#top').hidden = false;
  $('#menu').replaceChildren(...PAGES.map(([id, label]) => h('a', { href: `#/${id}`, dataset: { nav: id } }, label)));
  const select = $('#group');
  select.replaceChildren(...session.groups.map((x) => h('option', { value: x.id, selected: x.id === session.group }, x.name)));
  select.disabled = session.groups.length < 2;
}

// ---------------------------------------------------------------------------------------
// Routing

function view(page, title, ...children) {
  const main = $('#view');
  main.dataset.page = page;
  main.dataset.ready = 'false';
  main.replaceChildren(h('h1', {}, title), ...children);
  document.title = `${title} · Sonarly console`;
  for (const a of document.querySelectorAll('#menu a')) {
    if (a.dataset.nav === navOf(page)) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  return main;
}

function navOf(page) {
  return { audience: 'prospecting', thread: 'inbox', campaign: 'campaigns' }[page] || page;
}

function ready() { $('#view').dataset.ready = 'true'; }

function every(ms, fn) {
  clearInterval(timer);
  const gen = generation;
  timer = setInterval(() => { if (gen === generation && document.visibilityState !== 'hidden') fn(); }, ms);
}

async function route() {
  generation += 1;
  clearInterval(timer);
  const parts = (location.hash.replace(/^#\/?/, '') || 'seats').split('/').map(decodeURIComponent);
  if (!session.key) return pageSignIn();
  if (!session.group) {
    view('empty', 'No account group');
    $('#view').append(h('p', {}, 'This key can access no account group.'));
    return ready();
  }
  const [name, id] = parts;
  const pages = {
    seats: pageSeats, prospecting: pageProspecting, audiences: pageAudience, inbox: id ? pageThread : pageInbox,
    campaigns: id ? pageCampaign : pageCampaigns, templates: pageTemplates, events: pageEvents,
  };
  const page = pages[name] || pageSeats;
  try {
    await page(id);
  } catch (e) {
    if (e instanceof ApiError) {
      $('#view').append(h('p', { class: 'error', role: 'alert' }, explain(e)));
      ready();
    } else { throw e; }
  }
}

// ---------------------------------------------------------------------------------------
// Sign-in

function pageSignIn() {
  $('#top').hidden = true;
  const input = h('input', { id: 'key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false', placeholder: 'sk_live_…' });
  const error = h('p', { id: 'signin-error', class: 'error', role: 'alert' });
  const form = h('form', { class: 'panel signin', onsubmit: async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    session.signingIn = true;
    try {
      await signIn(input.value.trim());
      session.signingIn = false;
      location.hash = '#/seats';
      route();
    } catch (e) {
      session.signingIn = false;
      session.key = null;
      error.textContent = e instanceof ApiError ? explain(e) : String(e);
    }
  } },
  h('h1', {}, 'Sonarly console'),
  h('p', { class: 'muted' }, 'Sign in with an API key. It stays in this browser tab only and is sent with each API call; closing the tab forgets it.'),
  h('label', { for: 'key' }, 'API key'), input, error,
  h('p', {}, h('button', { id: 'signin-submit', type: 'submit' }, 'Sign in')));
  const main = $('#view');
  main.dataset.page = 'signin';
  main.replaceChildren(form);
  document.title = 'Sign in · Sonarly console';
  input.focus();
  ready();
}

// ---------------------------------------------------------------------------------------
// Seats

const KIND_LABELS = {
  invitation: 'Invitations', message: 'Messages', inmail: 'InMails', profile_visit: 'Profile visits',
  engagement: 'Engagements', withdrawal: 'Withdrawals', profile_fetch: 'Profile reads', search_page: 'Search pages',
  relation_read: 'Relation reads', inbox_read: 'Inbox reads', activity_read: 'Activity reads',
};
const ACTION_KINDS = ['invitation', 'message', 'inmail', 'profile_visit', 'engagement', 'withdrawal'];

function bar(kind, scope, used, cap) {
  const pct = cap ? Math.min(100, (used / cap) * 100) : 0;
  const b = h('div', { class: `bar${cap && used >= cap ? ' full' : ''}`, role: 'meter', 'aria-valuemin': 0,
    'aria-valuemax': cap || used || 1, 'aria-valuenow': used, 'aria-label': `${KIND_LABELS[kind] || kind} ${scope}`,
    dataset: { kind, scope, used: String(used), ...(cap !== null && cap !== undefined ? { cap: String(cap) } : {}) } }, h('span'));
  b.firstChild.style.width = `${pct}%`;
  return [h('span', {}, KIND_LABELS[kind] || kind), b, h('span', { class: 'num' }, cap !== null && cap !== undefined ? `${used} / ${cap}` : `${used}`)];
}

function activityChart(activity) {
  const days = (activity && activity.days) || [];
  const W = 600; const H = 140; const pad = 22;
  const totals = days.map((d) => Object.entries(d.counts || {}).filter(([k]) => ACTION_KINDS.includes(k)).reduce((s, [, v]) => s + v, 0));
  const max = Math.max(1, ...totals);
  const bw = days.length ? (W - pad) / days.length : 0;
  const svg = h('svg', { class: 'chart activity-chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': `Actions per day over the last ${days.length} days; highest ${max}` },
  h('line', { class: 'axis', x1: pad, y1: H - pad, x2: W, y2: H - pad }),
  h('text', { x: 0, y: 10 }, String(max)), h('text', { x: 0, y: H - pad }, '0'));
  days.forEach((d, i) => {
    const bh = ((H - 2 * pad) * totals[i]) / max;
    svg.append(h('rect', { class: 'b', x: pad + i * bw + 1, y: H - pad - bh, width: Math.max(1, bw - 2), height: bh },
      h('title', {}, `${d.date}: ${totals[i]} actions`)));
    if (i === 0 || i === days.length - 1) svg.append(h('text', { x: pad + i * bw, y: H - 6 }, d.date.slice(5)));
  });
  return svg;
}

function seatWhy(seat) {
  const lines = [];
  if (seat.rateLimitedUntil) lines.push(`LinkedIn asked to slow down; sending resumes ${when(seat.rateLimitedUntil)}.`);
  for (const p of seat.pauses || []) lines.push(`${KIND_LABELS[p.kind] || p.kind} paused (${p.reason}) until ${when(p.until)}.`);
  if (seat.status === 'needs_action') lines.push('Its owner must act on LinkedIn (reconnect or solve the checkpoint).');
  if (seat.status === 'disconnected') lines.push('Disconnected; checked every few minutes and resumes on its own.');
  if (seat.status === 'recovering') lines.push('Back from a limit: at half its caps for a day.');
  if (seat.rampUpEndsAt) lines.push(`Warming up until ${when(seat.rampUpEndsAt)}.`);
  return lines;
}

async function pageSeats() {
  const gen = generation;
  view('seats', 'Seats');
  const seats = await api('GET', g('/linkedin-accounts?limit=100'));
  const activities = await Promise.all(seats.items.map((s) =>
    api('GET', g(`/linkedin-accounts/${encodeURIComponent(s.id)}/activity?days=30`)).catch(() => null)));
  if (gen !== generation) return;
  const main = $('#view');
  if (!seats.items.length) main.append(h('p', { class: 'muted' }, 'No LinkedIn account is connected to this group.'));
  main.append(h('div', { class: 'grid' }, seats.items.map((s, i) => {
    const week = s.usageThisWeek || [];
    const today = (s.usageToday || []).filter((u) => ACTION_KINDS.includes(u.kind) || u.used > 0);
    return h('article', { class: 'panel seat', dataset: { seatId: s.id }, 'aria-label': s.name },
      h('header', {}, h('span', { class: 'seat-name' }, s.name), statusBadge(s.status, 'seat-status')),
      h('p', { class: 'muted' }, `${s.provider} · ${s.accountType.replace('_', ' ')} · works ${s.workingHours.start}–${s.workingHours.end} ${s.timezone}`),
      h('div', { class: 'seat-why' }, seatWhy(s).map((l) => h('p', {}, l))),
      h('h3', {}, 'Today'),
      h('div', { class: 'bars' }, today.map((u) => bar(u.kind, 'today', u.used, u.cap))),
      week.length ? [h('h3', {}, 'This week (rolling 7 days)'), h('div', { class: 'bars' }, week.map((u) => bar(u.kind, 'week', u.used, u.cap)))] : null,
      h('h3', {}, 'Actions per day, last 30 days'),
      activities[i] ? activityChart(activities[i]) : h('p', { class: 'muted' }, 'No activity data.'));
  })));
  ready();
  every(15000, () => { if (location.hash.startsWith('#/seats') || location.hash === '') route(); });
}

// ---------------------------------------------------------------------------------------
// Prospecting

function sourceOf(url) {
  let u;
  try { u = new URL(url); } catch (e) { return null; }
  if (u.pathname.startsWith('/sales/')) {
    const saved = u.searchParams.get('savedSearchId');
    if (saved) return { type: 'sales_navigator', savedSearchId: saved };
    const list = u.pathname.match(/\/sales\/lists\/people\/([^/?#]+)/);
    if (list) return { type: 'sales_navigator', leadListId: list[1] };
    return { type: 'sales_navigator' };
  }
  if (u.pathname.startsWith('/posts/') || u.pathname.startsWith('/feed/update/')) return { type: 'post_commenters', postUrl: url };
  return { type: 'linkedin_search', searchUrl: url };
}

function jobProgress(job) {
  if (job.status === 'completed') return 100;
  const st = job.stages || {};
  const parts = [st.import, st.enrichment].filter(Boolean).map((s) => s.progress || 0);
  return parts.length ? Math.round((parts.reduce((a, b) => a + b, 0) / parts.length) * 100) : 0;
}

async function pageProspecting() {
  const gen = generation;
  view('prospecting', 'Prospecting');
  const main = $('#view');
  const quota = can('prospecting:read') ? await api('GET', g('/prospecting/quota')).catch(() => null) : null;

  if (can('prospecting:write')) {
    const url = h('input', { id: 'job-url', type: 'url', required: true, placeholder: 'https://www.linkedin.com/search/results/people/?keywords=…' });
    const name = h('input', { id: 'job-audience', required: true, maxlength: 200, placeholder: 'Audience name' });
    const max = h('input', { id: 'job-max', type: 'number', min: 1, placeholder: quota && quota.maxResultsPerJob ? `up to ${quota.maxResultsPerJob}` : '' });
    const emails = h('input', { id: 'job-emails', type: 'checkbox' });
    const estimate = h('p', { id: 'job-estimate', class: 'muted', 'aria-live': 'polite' });
    const update = () => {
      const src = sourceOf(url.value);
      const parts = [];
      if (url.value && !src) parts.push('Not a URL.');
      if (src) parts.push(`Source: ${src.type.replace('_', ' ')}.`);
      if (quota) {
        if (quota.plan) parts.push(`Plan ${quota.plan}: at most ${quota.maxResultsPerJob} prospects per job.`);
        const per = emails.checked ? quota.creditsPerProspectWithEmails : quota.creditsPerProspect;
        const n = Math.min(Number(max.value) || quota.maxResultsPerJob || 0, quota.maxResultsPerJob || Infinity);
        if (per !== undefined && n) parts.push(`Costs up to ${n * per} credits (${per} per prospect)${quota.creditsAvailable !== undefined ? `; ${quota.creditsAvailable} available` : ''}.`);
        parts.push(`Monthly quota: ${quota.used} of ${quota.limit} used, ${quota.remaining} left (resets ${when(quota.resetAt)}).`);
      }
      estimate.textContent = parts.join(' ');
    };
    for (const el of [url, max, emails]) el.addEventListener('input', update);
    update();
    main.append(h('form', { id: 'job-form', class: 'panel', onsubmit: async (ev) => {
      ev.preventDefault();
      const src = sourceOf(url.value);
      if (!src) return toast('Paste a LinkedIn or Sales Navigator URL.', 'error');
      const body = { ...src, name: name.value.trim(), searchEmails: emails.checked };
      if (max.value) body.maxResults = Number(max.value);
      const started = await act(() => api('POST', g('/prospecting'), body, { 'Idempotency-Key': idempotencyKey() }), 'Import started.');
      if (started) { name.value = ''; url.value = ''; route(); }
    } },
    h('h2', {}, 'Import prospects'),
    h('div', { class: 'row' }, field('LinkedIn or Sales Navigator URL', url, 'grow'), field('Audience name', name), field('Max prospects', max),
      h('label', {}, 'Find emails', emails), h('button', { id: 'job-start', type: 'submit' }, 'Start import')),
    estimate));
  }

  if (can('prospecting:read')) {
    const jobs = await api('GET', g('/prospecting?limit=20'));
    const details = await Promise.all(jobs.items.map((j) => api('GET', g(`/prospecting/${encodeURIComponent(j.jobId)}`)).catch(() => j)));
    if (gen !== generation) return;
    main.append(h('h2', {}, 'Imports'), !details.length ? h('p', { class: 'muted' }, 'No import yet.') : table(['Name', 'Source', 'Status', 'Progress', 'Imported', 'Credits', 'Started', ''],
      details.map((j) => {
        const pct = jobProgress(j);
        const running = ['queued', 'running'].includes(j.status);
        return h('tr', { class: 'job', dataset: { jobId: j.jobId } },
          h('td', {}, j.name || j.jobId), h('td', {}, (j.sourceType || j.type || '').replace('_', ' ')),
          h('td', {}, statusBadge(j.status, 'job-status'), j.error ? h('div', { class: 'error' }, j.error.message || j.error.code) : null),
          h('td', {}, h('progress', { class: 'job-progress', max: 100, value: pct, 'aria-label': `Progress ${pct}%` }), ` ${pct}%`),
          h('td', { class: 'num' }, j.importedCount ?? ''), h('td', { class: 'num' }, j.creditsCharged ?? ''),
          h('td', {}, when(j.createdAt)),
          h('td', {}, running && can('prospecting:write') ? h('button', { class: 'danger job-cancel', type: 'button', onclick: async () => {
            if (await act(() => api('POST', g(`/prospecting/${encodeURIComponent(j.jobId)}/cancel`)), 'Import cancelled.')) route();
          } }, 'Cancel') : null));
      })));
    if (details.some((j) => ['queued', 'running'].includes(j.status))) every(2000, () => refreshJobs());
  }

  if (can('audiences:read')) {
    const nav = await api('GET', g('/audiences/navigation'));
    const audiences = await api('GET', g('/audiences?limit=100'));
    if (gen !== generation) return;
    const folderOf = new Map();
    for (const f of nav.folders || []) for (const a of f.audiences || []) folderOf.set(a.id, f.name);
    main.append(h('h2', {}, 'Audiences'), audiences.items.length ? table(['Audience', 'Folder', 'Type', 'Prospects', 'Created'],
      audiences.items.map((a) => h('tr', { class: 'audience', dataset: { audienceId: a.id } },
        h('td', {}, h('a', { class: 'audience-open', href: `#/audiences/${encodeURIComponent(a.id)}` }, a.name)),
        h('td', {}, folderOf.get(a.id) || '—'), h('td', {}, a.type.replace('_', ' ')),
        h('td', { class: 'num' }, a.prospectCount), h('td', {}, when(a.createdAt))))) : h('p', { class: 'muted' }, 'No audience yet.'));
  }

  if (can('prospects:read')) {
    const id = h('input', { id: 'lookup-id', required: true, placeholder: 'ACoAA… member id' });
    const result = h('div', { id: 'lookup-result', 'aria-live': 'polite' });
    main.append(h('form', { id: 'lookup-form', class: 'panel', onsubmit: async (ev) => {
      ev.preventDefault();
      const found = await act(() => api('GET', g(`/prospects/by-provider-id/${encodeURIComponent(id.value.trim())}`)));
      if (!found) return;
      result.replaceChildren(h('p', {}, `Resolution: ${found.resolution}`),
        found.matches.length ? table(['Name', 'Title', 'Company', 'Prospect'], found.matches.map((m) => h('tr', {},
          h('td', {}, m.linkedinUrl ? h('a', { href: m.linkedinUrl, rel: 'noopener noreferrer', target: '_blank' }, m.name) : m.name),
          h('td', {}, m.title || ''), h('td', {}, m.companyName || ''), h('td', {}, m.prospectId)))) : h('p', { class: 'muted' }, 'No prospect has this member id.'));
    } }, h('h2', {}, 'Find a prospect by LinkedIn member id'),
    h('div', { class: 'row' }, field('Member id', id, 'grow'), h('button', { id: 'lookup-submit', type: 'submit' }, 'Look up')), result));
  }
  if (gen === generation) ready();
}

async function refreshJobs() {
  const gen = generation;
  const rows = [...document.querySelectorAll('tr.job')].filter((r) => ['queued', 'running'].includes($('.job-status', r).textContent));
  if (!rows.length) return route();
  for (const row of rows) {
    const j = await api('GET', g(`/prospecting/${encodeURIComponent(row.dataset.jobId)}`)).catch(() => null);
    if (!j || gen !== generation) return;
    if (!['queued', 'running'].includes(j.status)) return route();
    const pct = jobProgress(j);
    const p = $('progress', row);
    p.value = pct;
    p.setAttribute('aria-label', `Progress ${pct}%`);
    p.nextSibling.textContent = ` ${pct}%`;
    row.children[4].textContent = j.importedCount;
    $('.job-status', row).textContent = j.status;
  }
}

async function pageAudience(id) {
  const gen = generation;
  const audience = await api('GET', g(`/audiences/${encodeURIComponent(id)}`));
  view('audience', audience.name);
  const main = $('#view');
  main.append(h('p', { class: 'muted' }, `${audience.prospectCount} prospects · ${audience.type.replace('_', ' ')}`, ' · ', h('a', { href: '#/prospecting' }, 'All audiences')));
  const search = h('input', { id: 'prospect-search', type: 'search', placeholder: 'Filter loaded prospects by name, title or company' });
  const body = h('tbody');
  const more = h('button', { id: 'next-page', type: 'button', class: 'secondary' }, 'Load more');
  let cursor = null;
  const loaded = [];
  const render = () => {
    const needle = search.value.trim().toLowerCase();
    body.replaceChildren(...loaded.filter((p) => !needle || [p.name, p.title, p.headline, p.company && p.company.name]
      .some((t) => t && t.toLowerCase().includes(needle))).map((p) => h('tr', { class: 'prospect', dataset: { prospectId: p.id } },
      h('td', {}, p.linkedinUrl ? h('a', { href: p.linkedinUrl, rel: 'noopener noreferrer', target: '_blank' }, p.name) : p.name),
      h('td', {}, p.headline || p.title || ''), h('td', { class: 'hide-narrow' }, (p.company && p.company.name) || ''),
      h('td', { class: 'hide-narrow' }, p.location || ''), h('td', { class: 'hide-narrow' }, p.providerId))));
  };
  const load = async () => {
    const page = await api('GET', g(`/audiences/${encodeURIComponent(id)}/prospects${q({ limit: 50, cursor })}`));
    if (gen !== generation) return;
    loaded.push(...page.items);
    cursor = page.nextCursor;
    more.hidden = !page.hasMore;
    more.disabled = !page.hasMore;
    render();
  };
  more.addEventListener('click', () => act(load));
  search.addEventListener('input', render);
  main.append(h('div', { class: 'row' }, field('Search', search, 'grow')),
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['Name', 'Headline', 'Company', 'Location', 'Member id']
      .map((c, i) => h('th', { scope: 'col', class: i > 1 ? 'hide-narrow' : '' }, c)))), body)), h('p', {}, more));
  await load();
  ready();
}

// ---------------------------------------------------------------------------------------
// Inbox

async function pageInbox() {
  const gen = generation;
  view('inbox', 'Inbox');
  const main = $('#view');
  if (can('messages:read')) {
    const seats = await api('GET', g('/linkedin-accounts?limit=100'));
    const seatName = new Map(seats.items.map((s) => [s.id, s.name]));
    const page = await api('GET', g('/messages?limit=100'));
    if (gen !== generation) return;
    const seen = new Map();
    for (const m of page.items) if (!seen.has(m.conversationId)) seen.set(m.conversationId, m); // newest first
    main.append(h('section', { class: 'panel' }, h('h2', {}, 'Conversations'),
      seen.size ? h('ul', { class: 'conversations' }, [...seen.values()].map((m) => h('li', { class: 'conversation', dataset: { conversationId: m.conversationId } },
        h('a', { class: 'conversation-open', href: `#/inbox/${encodeURIComponent(m.conversationId)}` }, m.conversationName || m.participantProviderId || m.conversationId),
        m.unreadCount ? h('span', { class: 'status warn' }, `${m.unreadCount} unread`) : null,
        h('div', { class: 'muted' }, `${m.isSender ? 'You: ' : ''}${m.text.slice(0, 140)}`),
        h('div', { class: 'muted' }, `${seatName.get(m.accountId) || m.accountId} · ${when(m.sentAt)}`))))
        : h('p', { class: 'muted' }, 'No message yet.'),
      page.hasMore ? h('p', { class: 'muted' }, 'Showing the conversations of the latest 100 messages.') : null));
  }
  if (can('messages:write') || can('messages:read')) {
    const responses = await api('GET', g('/messages/responses?limit=50')).catch(() => null);
    if (gen !== generation) return;
    if (responses) {
      main.append(h('h2', {}, 'Scheduled responses'), responses.items.length ? table(['Status', 'Goes out', 'Why it waits', 'Channel', 'Prospect', ''],
        responses.items.map((r) => h('tr', { class: 'response', dataset: { responseId: r.id } },
          h('td', {}, statusBadge(r.status, 'response-status'), r.failure ? h('div', { class: 'error' }, `${r.failure.code}: ${r.failure.message}`) : null),
          h('td', {}, r.sentAt ? `sent ${when(r.sentAt)}` : when(r.scheduledAt)),
          h('td', {}, waitReason(r)), h('td', {}, r.channel.replace('_', ' ')), h('td', {}, r.prospectId),
          h('td', {}, r.status === 'queued' && can('messages:write') ? h('button', { class: 'danger response-cancel', type: 'button', onclick: async () => {
            if (await act(() => api('POST', g(`/messages/responses/${encodeURIComponent(r.id)}/cancel`)), 'Response cancelled.')) route();
          } }, 'Cancel') : null))))
        : h('p', { class: 'muted' }, 'No scheduled response.'));
    }
  }
  ready();
  every(10000, () => route());
}

const WAIT_REASONS = {
  working_hours: 'outside the seat\'s working hours', daily_cap: 'the seat\'s daily cap is reached',
  weekly_cap: 'the seat\'s weekly cap is reached', spacing: 'spacing between two actions of the seat',
  rate_limited: 'LinkedIn asked the seat to slow down', seat_paused: 'this kind of action is paused on the seat',
  seat_unavailable: 'the seat is not connected',
};

function waitReason(r) {
  if (r.status !== 'queued') return '';
  if (r.deferredReason) return WAIT_REASONS[r.deferredReason] || r.deferredReason;
  return r.deferred ? 'a safety rule moved it' : 'due now';
}

async function pageThread(conversationId) {
  const gen = generation;
  const page = await api('GET', g(`/messages${q({ conversationId, limit: 100 })}`));
  if (gen !== generation) return;
  const messages = [...page.items].reverse();
  const first = page.items[0] || {};
  view('thread', first.conversationName || 'Conversation');
  const main = $('#view');
  const seat = first.accountId ? await api('GET', g(`/linkedin-accounts/${encodeURIComponent(first.accountId)}`)).catch(() => null) : null;
  main.append(h('p', { class: 'muted' }, h('a', { href: '#/inbox' }, 'Inbox'),
    seat ? ` · seat ${seat.name} (works ${seat.workingHours.start}–${seat.workingHours.end} ${seat.timezone})` : ''));
  main.append(h('div', { class: 'thread' }, messages.map((m) => h('div', { class: `message${m.isSender ? ' mine' : ''}`, dataset: { messageId: m.id } },
    h('div', { class: 'meta' }, `${m.isSender ? 'You' : (m.conversationName || m.senderId)} · ${when(m.sentAt)}`), h('div', {}, m.text)))));
  const prospectId = (page.items.find((m) => m.prospectId) || {}).prospectId;
  const participant = (page.items.find((m) => m.participantProviderId) || {}).participantProviderId;
  if (!prospectId && participant && can('prospecting:write')) {
    // A reply goes to a prospect; one the inbox met first becomes one through a URL import of its member id.
    main.append(h('div', { class: 'panel', id: 'import-participant' },
      h('p', {}, 'This person is not a prospect of the group yet, and a reply is addressed to a prospect. '),
      h('button', { type: 'button', id: 'import-participant-start', class: 'secondary', onclick: async (ev) => {
        ev.target.disabled = true;
        const job = await act(() => api('POST', g('/prospecting'), { type: 'url_upload', name: 'Inbox contacts',
          profileUrls: [`https://www.linkedin.com/in/${encodeURIComponent(participant)}`] }, { 'Idempotency-Key': idempotencyKey() }));
        if (!job) { ev.target.disabled = false; return; }
        const gen2 = generation;
        every(1500, async () => {
          const j = await api('GET', g(`/prospecting/${encodeURIComponent(job.jobId)}`)).catch(() => null);
          if (j && gen2 === generation && !['queued', 'running'].includes(j.status)) {
            toast(j.status === 'completed' ? 'Imported into the audience "Inbox contacts".' : `Import ${j.status}.`, j.status === 'completed' ? 'ok' : 'error');
            route();
          }
        });
      } }, 'Import as a prospect (audience "Inbox contacts")')));
  }
  if (can('messages:write')) {
    const text = h('textarea', { id: 'reply-text', required: true, maxlength: 8000, placeholder: 'Write a reply…' });
    const status = h('div', { id: 'reply-status', 'aria-live': 'polite' });
    main.append(h('form', { class: 'panel', onsubmit: async (ev) => {
      ev.preventDefault();
      if (!prospectId) return toast('No prospect matches this conversation\'s participant: import it first.', 'error');
      const r = await act(() => api('POST', g('/messages/responses'), { prospectId, conversationId, message: text.value, channel: 'direct_message' },
        { 'Idempotency-Key': idempotencyKey() }), 'Reply queued.');
      if (!r) return;
      text.value = '';
      status.replaceChildren(h('p', {}, `Queued: goes out ${when(r.scheduledAt)}${r.status === 'queued' ? ` (${waitReason(r)})` : ` (${r.status})`}.`));
    } }, h('h2', {}, h('label', { for: 'reply-text' }, 'Reply')), text,
    h('p', {}, h('button', { id: 'reply-send', type: 'submit' }, 'Queue reply'), ' ',
      h('span', { class: 'muted' }, 'Replies go out through the scheduler: within the seat\'s working hours, caps and spacing.')), status));
  }
  ready();
}

// ---------------------------------------------------------------------------------------
// Campaigns

async function pageCampaigns() {
  const gen = generation;
  view('campaigns', 'Campaigns');
  const main = $('#view');
  const list = await api('GET', g('/campaigns?limit=100'));
  if (gen !== generation) return;
  if (can('campaigns:write')) {
    const [templates, audiences] = await Promise.all([api('GET', g('/campaigns/starter-templates')),
      can('audiences:read') ? api('GET', g('/audiences?limit=100')) : { items: [] }]);
    if (gen !== generation) return;
    const name = h('input', { id: 'campaign-name', required: true, maxlength: 200 });
    const template = h('select', { id: 'campaign-template', required: true }, (templates.items || []).map((t) =>
      h('option', { value: t.id, disabled: !t.available }, `${t.name}${t.available ? '' : ' (needs a seat or credits it lacks)'}`)));
    const audience = h('select', { id: 'campaign-audience', required: true }, audiences.items.map((a) => h('option', { value: a.id }, `${a.name} (${a.prospectCount})`)));
    const desc = h('p', { class: 'muted', 'aria-live': 'polite' });
    const describe = () => { const t = (templates.items || []).find((x) => x.id === template.value); desc.textContent = t ? t.description : ''; };
    template.addEventListener('change', describe);
    describe();
    main.append(h('form', { id: 'campaign-form', class: 'panel', onsubmit: async (ev) => {
      ev.preventDefault();
      const c = await act(() => api('POST', g('/campaigns'), { name: name.value.trim(), starterTemplateId: template.value, audienceId: audience.value },
        { 'Idempotency-Key': idempotencyKey() }), 'Campaign created.');
      if (c) location.hash = `#/campaigns/${encodeURIComponent(c.id)}`;
    } }, h('h2', {}, 'New campaign from a starter template'),
    h('div', { class: 'row' }, field('Name', name), field('Starter template', template), field('Audience', audience),
      h('button', { id: 'campaign-create', type: 'submit' }, 'Create draft')), desc));
  }
  main.append(h('h2', {}, 'All campaigns'), list.items.length ? table(['Campaign', 'Status', 'Leads', 'Template', 'Started'],
    list.items.map((c) => h('tr', { class: 'campaign', dataset: { campaignId: c.id } },
      h('td', {}, h('a', { class: 'campaign-open', href: `#/campaigns/${encodeURIComponent(c.id)}` }, c.name)),
      h('td', {}, statusBadge(c.status, 'campaign-status')), h('td', { class: 'num' }, c.selectedLeadCount),
      h('td', {}, c.starterTemplateId), h('td', {}, when(c.startedAt))))) : h('p', { class: 'muted' }, 'No campaign yet.'));
  ready();
}

const STAGE_LABELS = { leads: 'Leads', invited: 'Invited', accepted: 'Accepted', messaged: 'Messaged', replied: 'Replied', completed: 'Completed', stopped: 'Stopped' };

function funnelChart(funnel) {
  const stages = [{ stage: 'leads', count: funnel.leads }, ...(funnel.stages || [])];
  const W = 600; const rowH = 26; const H = stages.length * rowH + 4; const labelW = 110;
  const max = Math.max(1, ...stages.map((s) => s.count));
  const svg = h('svg', { id: 'funnel', class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': stages.map((s) => `${STAGE_LABELS[s.stage] || s.stage} ${s.count}`).join(', ') });
  stages.forEach((s, i) => {
    const w = ((W - labelW - 50) * s.count) / max;
    svg.append(h('text', { x: 0, y: i * rowH + 17 }, STAGE_LABELS[s.stage] || s.stage),
      h('rect', { class: 'b', x: labelW, y: i * rowH + 4, width: Math.max(1, w), height: rowH - 8 }),
      h('text', { x: labelW + w + 6, y: i * rowH + 17 }, String(s.count)));
  });
  const legend = h('div', { class: 'funnel-legend' }, stages.map((s) => h('span', { class: 'funnel-stage', dataset: { stage: s.stage, count: String(s.count) } },
    `${STAGE_LABELS[s.stage] || s.stage}: `, h('strong', {}, s.count))),
  (funnel.outcomes || []).map((o) => h('span', { class: 'funnel-outcome', dataset: { outcome: o.outcome, count: String(o.count) } },
    `${o.outcome}${o.reason ? ` (${o.reason})` : ''}: `, h('strong', {}, o.count))),
  funnel.pendingApproval !== undefined ? h('span', { class: 'funnel-stage', dataset: { stage: 'pending_approval', count: String(funnel.pendingApproval) } },
    'Awaiting approval: ', h('strong', {}, funnel.pendingApproval)) : null);
  return [svg, legend];
}

async function pageCampaign(id) {
  const gen = generation;
  const base = g(`/campaigns/${encodeURIComponent(id)}`);
  const [c, slots, funnel, leads, queue] = await Promise.all([
    api('GET', base), api('GET', `${base}/content-slots`),
    api('GET', `${base}/funnel`).catch(() => null),
    api('GET', `${base}/leads?limit=50`).catch(() => null),
    api('GET', `${base}/leads?limit=50&pendingApproval=true`).catch(() => null)]);
  if (gen !== generation) return;
  const focusedId = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.instanceId : null;
  view('campaign', c.name);
  const main = $('#view');
  const exec = can('campaigns:execute');
  main.append(h('div', { class: 'panel' },
    h('p', {}, h('a', { href: '#/campaigns' }, 'Campaigns'), ' · ', statusBadge(c.status, 'campaign-status'),
      ` · ${c.selectedLeadCount} leads · template ${c.starterTemplateId}`, c.startedAt ? ` · started ${when(c.startedAt)}` : '',
      c.rateLimitedUntil ? ` · paused by LinkedIn until ${when(c.rateLimitedUntil)}` : ''),
    exec && ['draft', 'stopped'].includes(c.status) ? h('button', { id: 'campaign-start', type: 'button', onclick: async () => {
      const r = await act(() => api('POST', `${base}/start`, undefined, { 'Idempotency-Key': idempotencyKey() }), 'Campaign started.');
      if (r) route();
    } }, 'Start') : null,
    exec && c.status === 'active' ? h('button', { id: 'campaign-stop', type: 'button', class: 'danger', onclick: async () => {
      const r = await act(() => api('POST', `${base}/stop`, undefined, { 'Idempotency-Key': idempotencyKey() }), 'Campaign stopped.');
      if (r) route();
    } }, 'Stop') : null));

  if (funnel) main.append(h('section', { class: 'panel' }, h('h2', {}, 'Funnel'), funnelChart(funnel)));

  // The approval queue: pending generated content, approve with a, discard with d.
  if (queue) {
    const items = queue.items.filter((l) => l.workflowInstanceId);
    const resolve = async (lead, action) => {
      const r = await act(() => api('POST', `${base}/workflow-instances/${encodeURIComponent(lead.workflowInstanceId)}/${action}`, undefined,
        { 'Idempotency-Key': idempotencyKey() }), action === 'approve' ? 'Approved.' : 'Discarded.');
      if (r) { resolve.next = lead.workflowInstanceId; route(); }
    };
    main.append(h('section', { class: 'panel' }, h('h2', {}, `Approval queue (${items.length})`),
      items.length && exec ? h('p', { class: 'muted' }, 'Select an item, then press ', h('kbd', {}, 'a'), ' to approve or ', h('kbd', {}, 'd'), ' to discard.') : null,
      items.length ? h('ul', { class: 'approvals' }, items.map((l) => {
        const li = h('li', { class: 'approval', tabindex: 0, dataset: { instanceId: l.workflowInstanceId, leadId: l.leadId },
          'aria-label': `Pending content for ${l.name || l.leadId}`, onkeydown: (ev) => {
            if (!exec || ev.target !== li || ev.ctrlKey || ev.metaKey || ev.altKey) return;
            if (ev.key === 'a') { ev.preventDefault(); resolve(l, 'approve'); }
            if (ev.key === 'd') { ev.preventDefault(); resolve(l, 'discard'); }
          } },
        h('strong', {}, l.name || l.leadId), l.headline ? h('span', { class: 'muted' }, ` · ${l.headline}`) : null,
        l.pendingContent ? h('div', { class: 'muted' }, `${(l.pendingContent.channel || '').replace('_', ' ')} · ${l.pendingContent.step || ''}`) : null,
        h('div', { class: 'approval-content' }, l.pendingContent ? `${l.pendingContent.subject ? `${l.pendingContent.subject}\n\n` : ''}${l.pendingContent.text}` : ''),
        exec ? [h('button', { type: 'button', class: 'approve', onclick: () => resolve(l, 'approve') }, 'Approve'), ' ',
          h('button', { type: 'button', class: 'danger discard', onclick: () => resolve(l, 'discard') }, 'Discard')] : null);
        return li;
      })) : h('p', { class: 'muted' }, 'Nothing awaits approval.')));
    const first = focusedId && $(`li.approval[data-instance-id="${CSS.escape(focusedId)}"]`) ? null : $('li.approval');
    if (focusedId && $(`li.approval[data-instance-id="${CSS.escape(focusedId)}"]`)) $(`li.approval[data-instance-id="${CSS.escape(focusedId)}"]`).focus();
    else if (resolve.next !== undefined && first) first.focus();
  }

  main.append(h('section', { class: 'panel' }, h('h2', {}, 'Content slots'), await slotList(base, slots)));

  if (leads) {
    main.append(h('h2', {}, 'Leads'), table(['Lead', 'Status', 'Latest step', 'Stopped because'], leads.items.map((l) => h('tr', { class: 'lead', dataset: { leadId: l.leadId } },
      h('td', {}, l.name || l.leadId), h('td', {}, statusBadge(l.workflowStatus, 'lead-status'), l.pendingContent ? ' awaiting approval' : ''),
      h('td', {}, l.latestStep || ''), h('td', {}, l.workflowStopReason || '')))),
    leads.hasMore ? h('p', { class: 'muted' }, 'Showing the first 50 leads.') : null);
  }
  if (gen !== generation) return;
  ready();
  if (c.status === 'active') every(3000, () => { if (!document.activeElement || !document.activeElement.closest('form')) route(); });
}

// Slot previews already composed, by group, writing style and channel; forgotten on every navigation, so a
// style edited elsewhere is composed again, while an active campaign's own redraws reuse them.
const slotPreviews = new Map();

async function slotList(base, slots) {
  const styles = can('templates:read') ? (await api('GET', g('/writing-styles?limit=100')).catch(() => ({ items: [] }))).items : [];
  const items = slots.items || slots.slots || [];
  const fits = (style, channel) => style.contentType === channel || (style.contentType === 'direct_message_inmail' && ['direct_message', 'inmail'].includes(channel));
  return h('div', {}, items.map((s) => {
    const preview = h('div', { class: 'slot-preview preview', 'aria-live': 'polite' });
    const showPreview = async (styleId) => {
      if (!styleId) { preview.textContent = 'No writing style linked: the built-in composer writes this message.'; return; }
      // An active campaign's page redraws every few seconds: a preview is composed once per style and channel.
      const key = `${session.group}|${styleId}|${s.channel}`;
      if (!slotPreviews.has(key)) {
        slotPreviews.set(key, api('POST', g(`/writing-styles/${encodeURIComponent(styleId)}/preview`), {
          channel: s.channel, profile: { firstName: 'Avery', lastName: 'Lee', title: 'Head of Sales', company: 'Northwind' } })
          .then((p) => `${p.subject ? `${p.subject}\n\n` : ''}${p.body}`)
          .catch((e) => { slotPreviews.delete(key); return explain(e); }));
      }
      preview.textContent = await slotPreviews.get(key);
    };
    const select = h('select', { 'aria-label': `Writing style for ${s.label}`, disabled: !can('campaigns:write'), onchange: async () => {
      const r = await act(() => api('PATCH', `${base}/content-slots/${encodeURIComponent(s.id)}`, { templateId: select.value }), 'Writing style linked.');
      if (r) showPreview(select.value);
    } }, h('option', { value: '', disabled: true, selected: !s.templateId }, '— choose a writing style —'),
    styles.filter((x) => fits(x, s.channel)).map((x) => h('option', { value: x.id, selected: x.id === s.templateId }, x.name)));
    showPreview(s.templateId);
    return h('div', { class: 'slot', dataset: { slotId: s.id } }, h('h3', {}, `${s.position}. ${s.label}`, h('span', { class: 'muted' }, ` · ${s.channel.replace('_', ' ')}`)),
      can('templates:read') ? select : null, h('p', { class: 'muted' }, 'Preview for a sample prospect (Avery Lee, Head of Sales at Northwind):'), preview);
  }));
}

// ---------------------------------------------------------------------------------------
// Signals and templates

async function pageTemplates() {
  const gen = generation;
  view('templates', 'Signals & templates');
  const main = $('#view');
  if (can('templates:read')) {
    const [styles, props, specs] = await Promise.all([api('GET', g('/writing-styles?limit=100')),
      api('GET', g('/value-propositions?limit=100')), api('GET', g('/signal-specifications?limit=100'))]);
    if (gen !== generation) return;
    const write = can('templates:write');
    // Writing styles, with a live preview on a sample prospect.
    const sName = h('input', { id: 'style-name', required: true, maxlength: 200 });
    const sType = h('select', { id: 'style-type' }, ['direct_message', 'inmail', 'direct_message_inmail', 'connection_request', 'comment', 'email']
      .map((t) => h('option', { value: t }, t.replace(/_/g, ' '))));
    const sText = h('textarea', { id: 'style-text', required: true, placeholder: 'A sample message in this style. Placeholders: {{ FirstName }}, {{ Company }}, {{ Signal }}' });
    const pStyle = h('select', { id: 'preview-style' }, styles.items.map((x) => h('option', { value: x.id }, x.name)));
    const pFirst = h('input', { id: 'preview-first-name', value: 'Avery' });
    const pCompany = h('input', { id: 'preview-company', value: 'Northwind' });
    const pTitle = h('input', { id: 'preview-title', value: 'Head of Sales' });
    const pOut = h('div', { id: 'style-preview', class: 'preview', 'aria-live': 'polite' });
    let pending = null;
    const preview = () => {
      clearTimeout(pending);
      pending = setTimeout(async () => {
        const style = styles.items.find((x) => x.id === pStyle.value);
        if (!style) { pOut.textContent = 'Create a writing style to preview it.'; return; }
        const channel = style.contentType === 'direct_message_inmail' ? 'direct_message' : style.contentType;
        try {
          const p = await api('POST', g(`/writing-styles/${encodeURIComponent(style.id)}/preview`),
            { channel, profile: { firstName: pFirst.value || null, company: pCompany.value || null, title: pTitle.value || null } });
          pOut.textContent = `${p.subject ? `${p.subject}\n\n` : ''}${p.body}`;
          pOut.dataset.composer = p.composer;
        } catch (e) { pOut.textContent = explain(e); }
      }, 250);
    };
    for (const el of [pStyle, pFirst, pCompany, pTitle]) el.addEventListener('input', preview);
    preview();
    main.append(h('section', { id: 'writing-styles', class: 'panel' }, h('h2', {}, 'Writing styles'),
      styles.items.length ? table(['Name', 'Writes', 'Samples', 'Updated'], styles.items.map((x) => h('tr', { class: 'template', dataset: { templateId: x.id } },
        h('td', {}, x.name), h('td', {}, x.contentType.replace(/_/g, ' ')), h('td', { class: 'num' }, x.samples.length), h('td', {}, when(x.updatedAt)))))
        : h('p', { class: 'muted' }, 'No writing style yet.'),
      h('h3', {}, 'Live preview'), h('div', { class: 'row' }, field('Writing style', pStyle), field('First name', pFirst), field('Company', pCompany), field('Title', pTitle)), pOut,
      write ? h('form', { id: 'style-form', onsubmit: async (ev) => {
        ev.preventDefault();
        const r = await act(() => api('POST', g('/writing-styles'), { name: sName.value.trim(), contentType: sType.value, samples: [{ type: 'basic', message: sText.value }] }), 'Writing style created.');
        if (r) route();
      } }, h('h3', {}, 'New writing style'), h('div', { class: 'row' }, field('Name', sName), field('Writes', sType)),
      field('Sample', sText), h('p', {}, h('button', { id: 'style-create', type: 'submit' }, 'Create writing style'))) : null));

    const vName = h('input', { id: 'proposition-name', required: true, maxlength: 200 });
    const vValues = h('textarea', { id: 'proposition-values', required: true, placeholder: 'One value per line' });
    main.append(h('section', { id: 'value-propositions', class: 'panel' }, h('h2', {}, 'Value propositions'),
      props.items.length ? table(['Name', 'Values', 'Challenges'], props.items.map((x) => h('tr', { class: 'template', dataset: { templateId: x.id } },
        h('td', {}, x.name), h('td', {}, x.values.join('; ')), h('td', {}, x.challenges.join('; '))))) : h('p', { class: 'muted' }, 'No value proposition yet.'),
      write ? h('form', { id: 'proposition-form', onsubmit: async (ev) => {
        ev.preventDefault();
        const values = vValues.value.split('\n').map((v) => v.trim()).filter(Boolean);
        const r = await act(() => api('POST', g('/value-propositions'), { name: vName.value.trim(), values }), 'Value proposition created.');
        if (r) route();
      } }, h('h3', {}, 'New value proposition'), h('div', { class: 'row' }, field('Name', vName)), field('Values', vValues),
      h('p', {}, h('button', { type: 'submit' }, 'Create value proposition'))) : null));

    main.append(h('section', { id: 'signal-specifications', class: 'panel' }, h('h2', {}, 'Signal specifications'),
      specs.items.length ? table(['Name', 'Sources', 'Specifications'], specs.items.map((x) => h('tr', { class: 'template', dataset: { templateId: x.id } },
        h('td', {}, x.name), h('td', {}, x.sources.map((s) => (typeof s === 'string' ? s : s.type || JSON.stringify(s))).join(', ')),
        h('td', {}, x.specifications.map((s) => (typeof s === 'string' ? s : JSON.stringify(s))).join('; ')))))
        : h('p', { class: 'muted' }, 'No signal specification yet.'),
      write ? specForm() : null));

    if (can('signals:read')) {
      const scans = await api('GET', g('/signals/scans?limit=20'));
      const details = await Promise.all(scans.items.map((s) => api('GET', g(`/signals/scans/${encodeURIComponent(s.scanId)}`)).catch(() => s)));
      if (gen !== generation) return;
      const section = h('section', { class: 'panel', id: 'scans' }, h('h2', {}, 'Signal scans'));
      if (can('signals:write')) {
        const audiences = can('audiences:read') ? (await api('GET', g('/audiences?limit=100'))).items : [];
        const spec = h('select', { id: 'scan-spec' }, specs.items.map((x) => h('option', { value: x.id }, x.name)));
        const aud = h('select', { id: 'scan-audience' }, audiences.map((a) => h('option', { value: a.id }, a.name)));
        section.append(h('form', { id: 'scan-form', onsubmit: async (ev) => {
          ev.preventDefault();
          const r = await act(() => api('POST', g('/signals/scans'), { signalSpecificationId: spec.value, audienceId: aud.value },
            { 'Idempotency-Key': idempotencyKey() }), 'Scan started.');
          if (r) route();
        } }, h('div', { class: 'row' }, field('Signal specification', spec), field('Audience', aud),
          h('button', { id: 'scan-start', type: 'submit', disabled: !specs.items.length || !audiences.length }, 'Start scan'))));
      }
      section.append(details.length ? table(['Scan', 'Status', 'Progress', 'With signals', 'Started'], details.map((s) => {
        const c = s.counts || {};
        const pct = s.status === 'completed' ? 100 : c.total ? Math.round((c.processed / c.total) * 100) : 0;
        return h('tr', { class: 'scan', dataset: { scanId: s.scanId } }, h('td', {}, s.scanId), h('td', {}, statusBadge(s.status)),
          h('td', {}, h('progress', { class: 'scan-progress', max: 100, value: pct, 'aria-label': `Progress ${pct}%` }), c.total !== undefined ? ` ${c.processed} / ${c.total}` : ''),
          h('td', { class: 'num' }, c.withSignals ?? ''), h('td', {}, when(s.createdAt)));
      })) : h('p', { class: 'muted' }, 'No scan yet.'));
      main.append(section);
      if (details.some((s) => ['queued', 'running'].includes(s.status))) every(3000, () => route());
    }
  }
  if (can('prospects:read')) {
    const pid = h('input', { id: 'signals-prospect', required: true, placeholder: 'Prospect id' });
    const out = h('div', { id: 'signals-result', 'aria-live': 'polite' });
    main.append(h('form', { class: 'panel', id: 'signals-form', onsubmit: async (ev) => {
      ev.preventDefault();
      const r = await act(() => api('GET', g(`/prospects/${encodeURIComponent(pid.value.trim())}/signals`)));
      if (!r) return;
      out.replaceChildren(h('p', {}, `Status: ${r.status}${r.evaluatedAt ? `, evaluated ${when(r.evaluatedAt)}` : ''}`),
        ...(r.results || []).map((grp) => h('div', {}, h('h3', {}, grp.type.replace(/_/g, ' ')),
          h('ul', {}, grp.items.map((it) => h('li', {}, h('strong', {}, `${it.score} `), it.summary, h('div', { class: 'muted' }, it.reasoning)))))));
    } }, h('h2', {}, 'A prospect\'s signals'), h('div', { class: 'row' }, field('Prospect id', pid, 'grow'), h('button', { type: 'submit' }, 'Show signals')), out));
  }
  if (gen === generation) ready();
}

const SIGNAL_SOURCES = ['linkedin_posts', 'linkedin_comments', 'job_changes', 'company_news', 'hiring', 'funding'];

function specForm() {
  const name = h('input', { id: 'spec-name', required: true, maxlength: 200 });
  const boxes = SIGNAL_SOURCES.map((src) => h('input', { type: 'checkbox', value: src, checked: src === 'linkedin_posts' }));
  const entries = h('textarea', { id: 'spec-entries', placeholder: 'What to look for, one per line (e.g. "talks about hiring SDRs")' });
  return h('form', { id: 'spec-form', onsubmit: async (ev) => {
    ev.preventDefault();
    const sources = boxes.filter((b) => b.checked).map((b) => b.value);
    const specifications = entries.value.split('\n').map((v) => v.trim()).filter(Boolean);
    const r = await act(() => api('POST', g('/signal-specifications'), { name: name.value.trim(), sources, specifications }), 'Signal specification created.');
    if (r) route();
  } }, h('h3', {}, 'New signal specification'), h('div', { class: 'row' }, field('Name', name)),
  h('fieldset', {}, h('legend', {}, 'Sources'), boxes.map((b) => h('label', { class: 'check' }, b, ` ${b.value.replace(/_/g, ' ')}`))),
  field('Specifications', entries), h('p', {}, h('button', { id: 'spec-create', type: 'submit' }, 'Create signal specification')));
}

// ---------------------------------------------------------------------------------------
// Events

// The event types of the event log (GET …/events?types=…), as the API names them.
const EVENT_TYPES = ['', 'message.received', 'message.sent', 'response.sent', 'response.failed', 'response.cancelled',
  'invitation.sent', 'invitation.accepted', 'prospecting.job.completed', 'prospecting.job.failed', 'prospecting.job.cancelled',
  'signals.scan.completed', 'campaign.started', 'campaign.stopped', 'campaign.completed', 'campaign.lead.step_completed',
  'campaign.lead.replied', 'campaign.lead.stopped', 'campaign.approval.required', 'linkedin_account.status_changed',
  'credits.low', 'webhook_endpoint.disabled', 'webhook.test'];

async function pageEvents() {
  const gen = generation;
  view('events', 'Events');
  const main = $('#view');
  if (!can('events:read')) { main.append(h('p', { class: 'muted' }, 'This key lacks the events:read scope.')); return ready(); }
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const type = h('select', { id: 'event-type', onchange: () => { location.hash = `#/events${type.value ? `?types=${encodeURIComponent(type.value)}` : ''}`; } },
    EVENT_TYPES.map((t) => h('option', { value: t, selected: t === (params.get('types') || '') }, t || 'All types')));
  const body = h('tbody');
  const more = h('button', { id: 'events-more', type: 'button', class: 'secondary' }, 'Older events');
  let cursor = null;
  const load = async () => {
    const page = await api('GET', g(`/events${q({ limit: 50, cursor, types: params.get('types') })}`));
    if (gen !== generation) return;
    body.append(...page.items.map((e) => h('tr', { class: 'event', dataset: { eventId: e.id } },
      h('td', {}, when(e.createdAt)), h('td', { class: 'event-type' }, e.type),
      h('td', {}, Object.entries(e.data || {}).filter(([, v]) => typeof v !== 'object').map(([k, v]) => `${k}: ${v}`).join(' · ')))));
    cursor = page.nextCursor;
    more.hidden = !page.hasMore;
  };
  more.addEventListener('click', () => act(load));
  main.append(h('div', { class: 'row' }, field('Type', type)),
    h('div', { class: 'table-wrap' }, h('table', {}, h('thead', {}, h('tr', {}, ['When', 'Type', 'Data'].map((c) => h('th', { scope: 'col' }, c)))), body)), h('p', {}, more));
  await load();
  if (gen !== generation) return;
  if (!body.children.length) main.append(h('p', { class: 'muted' }, 'No event yet.'));
  ready();
}

// ---------------------------------------------------------------------------------------
// Start

window.addEventListener('hashchange', () => { slotPreviews.clear(); route(); $('#view').focus({ preventScroll: true }); });
document.addEventListener('DOMContentLoaded', async () => {
  $('#signout').addEventListener('click', () => signOut());
  $('#group').addEventListener('change', (ev) => {
    session.group = ev.target.value;
    sessionStorage.setItem(GROUP, session.group);
    route();
  });
  const key = sessionStorage.getItem(KEY);
  if (key) {
    try { await signIn(key); } catch (e) { session.key = null; sessionStorage.removeItem(KEY); }
  }
  route();
});
