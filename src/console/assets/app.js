// agent-ca operator console: plain ES modules, DOM built with createElement and textContent (no HTML parsing of
// data), no inline script or style (the server's CSP forbids both). docs/console.md.
import { api, ApiError, download, stream, token } from '/console/assets/api.js';
import { riskChart, sparkline } from '/console/assets/chart.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');
const live = document.getElementById('live');
const signout = document.getElementById('signout');
const toasts = document.getElementById('toasts');

const REVOKE_REASONS = [
  'unspecified',
  'keyCompromise',
  'affiliationChanged',
  'superseded',
  'cessationOfOperation',
  'privilegeWithdrawn',
];
const FEATURE_WORDS = {
  rate: 'request rate against its own baseline',
  scope: 'actions outside its certified scope',
  policy: 'transactions breaking its policy (size, market)',
  auth: 'failed authentication attempts',
  anomaly: 'amounts unusual for this agent',
};

/** The signed-in token: name, role, tenant (from /api/v1/whoami). */
let me = null;
let closeStreams = [];
let seq = 0; // render generation: a slow answer for an old view is dropped

const canWrite = () => me && (me.role === 'admin' || me.role === 'operator');
const canReport = () => me && (me.role === 'admin' || me.role === 'auditor');

/** h('tag.class', {attr: v, onclick: fn}, ...children) */
function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split('.');
  const e = document.createElement(tag);
  if (classes.length) e.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, '');
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function toast(text, kind = 'info') {
  const t = h(`div.toast.${kind}`, {}, text);
  toasts.prepend(t);
  while (toasts.children.length > 5) toasts.lastElementChild.remove();
  setTimeout(() => t.remove(), 15_000);
}

function errorText(e) {
  return e instanceof ApiError ? `${e.message}${e.code ? ` (${e.code})` : ''}` : String(e?.message ?? e);
}

/** Runs an action from a button: disables it meanwhile, reports the outcome, re-renders. */
async function act(button, what, fn) {
  button.disabled = true;
  try {
    await fn();
    toast(what, 'ok');
    await route();
  } catch (e) {
    toast(`${what} failed: ${errorText(e)}`, 'error');
    button.disabled = false;
  }
}

const fmtTime = (iso) =>
  iso
    ? new Date(iso)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z')
    : '';
const fmtScore = (s) => (typeof s === 'number' ? s.toFixed(2) : '–');
const enc = encodeURIComponent;

function statusBadge(status, reason) {
  const label = status === 'held' ? 'on hold' : status;
  return h(`span.badge.status-${status}`, {}, label, reason && status !== 'held' ? ` (${reason})` : '');
}

function bandBadge(band) {
  return h(`span.badge.band-${band ?? 'none'}`, {}, band ?? 'no score');
}

function reasonsList(reasons) {
  if (!reasons?.length) return h('p.muted', {}, 'No contributing feature.');
  return h(
    'ul.reasons',
    {},
    reasons.map((r) =>
      h(
        'li',
        {},
        h('strong', {}, FEATURE_WORDS[r.feature] ?? r.feature),
        `: ${r.detail ?? ''} `,
        h('span.muted', {}, `(feature ${fmtScore(r.value)}, contributes ${fmtScore(r.contribution)} of the score)`),
      ),
    ),
  );
}

// ---------------------------------------------------------------- sign-in

function renderSignIn(message) {
  nav.hidden = true;
  signout.hidden = true;
  who.textContent = '';
  live.textContent = 'offline';
  main.replaceChildren(
    h(
      'section.signin',
      { 'aria-labelledby': 'signin-title' },
      h('h1', { id: 'signin-title' }, 'Sign in'),
      h('p', {}, 'Paste an API token (admin, operator or auditor: agent-ca token create). It stays in this tab only.'),
      message ? h('p.error', { role: 'alert' }, message) : null,
      h(
        'form',
        { id: 'signin-form', onsubmit: signIn },
        h('label', { for: 'token' }, 'API token'),
        h('input', {
          id: 'token',
          name: 'token',
          type: 'password',
          autocomplete: 'off',
          required: true,
          spellcheck: 'false',
        }),
        h('button', { type: 'submit', id: 'signin-submit' }, 'Sign in'),
      ),
    ),
  );
  document.getElementById('token').focus();
}

async function signIn(ev) {
  ev.preventDefault();
  const value = document.getElementById('token').value.trim();
  token.set(value);
  try {
    await start();
  } catch (e) {
    token.clear();
    renderSignIn(e instanceof ApiError && e.status === 401 ? 'That token is not valid.' : errorText(e));
  }
}

async function start() {
  me = await api('GET', '/api/v1/whoami');
  if (me.role === 'agent') {
    token.clear();
    me = null;
    throw new Error('An agent token cannot use the console.');
  }
  who.textContent = `${me.name} · ${me.role}${me.tenant ? ` · ${me.tenant}` : ''}`;
  signout.hidden = false;
  nav.hidden = false;
  for (const a of nav.querySelectorAll('a[data-roles]')) a.hidden = !a.dataset.roles.split(' ').includes(me.role);
  openStreams();
  if (!location.hash || location.hash === '#/') location.hash = '#/queue';
  else await route();
}

signout.addEventListener('click', () => {
  token.clear();
  me = null;
  for (const c of closeStreams) c();
  closeStreams = [];
  renderSignIn();
});

// ---------------------------------------------------------------- live updates

function openStreams() {
  for (const c of closeStreams) c();
  const up = { warnings: false, revocations: false };
  const show = () => {
    const n = Object.values(up).filter(Boolean).length;
    live.textContent = n === 2 ? 'live' : n ? 'partly live' : 'reconnecting';
    live.className = `live ${n === 2 ? 'on' : 'off'}`;
  };
  closeStreams = [
    stream(
      '/api/v1/notifications/stream',
      (event, n) => {
        if (event !== 'warning') return;
        toast(`New warning: ${n.agentId ?? n.serial} scored ${fmtScore(n.score)} (${n.band})`, 'warn');
        if (currentView() === 'queue') liveRefresh();
      },
      (ok) => {
        // A warning stored between the page's last read and this (re)connection is not pushed:
        // the stream starts at the newest; read the queue again.
        if (ok && !up.warnings && currentView() === 'queue') liveRefresh();
        up.warnings = ok;
        show();
      },
    ),
    stream(
      '/api/v1/revocations/stream',
      (event, c) => {
        const words = {
          revoked: 'revoked',
          held: 'put on hold',
          released: 'released',
          'reason-changed': 'reason changed',
        };
        toast(
          `Certificate ${c.serial}${c.agentId ? ` of ${c.agentId}` : ''} ${words[event] ?? event}${c.reason ? ` (${c.reason})` : ''}`,
          'info',
        );
        liveRefresh();
      },
      (ok) => {
        up.revocations = ok;
        show();
      },
    ),
  ];
}

// ---------------------------------------------------------------- router

let refreshPending = false;
/**
 * Re-renders the page for a live event, unless the operator is typing in it (a review comment,
 * a filter): then once the field loses focus, so nothing typed is lost.
 */
function liveRefresh() {
  const a = document.activeElement;
  if (a && main.contains(a) && ['TEXTAREA', 'INPUT'].includes(a.tagName) && a.value) {
    if (refreshPending) return;
    refreshPending = true;
    a.addEventListener(
      'blur',
      () => {
        refreshPending = false;
        void route();
      },
      { once: true },
    );
    return;
  }
  void route();
}

function currentView() {
  return (location.hash.replace(/^#\//, '').split('?')[0].split('/')[0] || 'queue').toLowerCase();
}

async function route() {
  if (!me) return;
  const gen = ++seq;
  const [view, ...rest] = location.hash.replace(/^#\//, '').split('?')[0].split('/');
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.view === (view || 'queue')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const arg = rest.length ? decodeURIComponent(rest.join('/')) : undefined;
  let node;
  try {
    switch (view) {
      case 'agents':
        node = arg ? await agentPage(arg) : await agentsPage();
        break;
      case 'certificates':
        node = await certificatesPage(arg);
        break;
      case 'reports':
        node = canReport() ? await reportsPage() : h('p', {}, 'Reports are for admin and auditor tokens.');
        break;
      default:
        node = await queuePage();
    }
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) {
      token.clear();
      me = null;
      return renderSignIn('The token is no longer valid.');
    }
    node = h('p.error', { role: 'alert' }, errorText(e));
  }
  if (gen !== seq) return;
  const focused = document.activeElement?.id;
  main.replaceChildren(node);
  // Keep keyboard focus where it was when the same control is still there.
  if (focused && document.getElementById(focused)) document.getElementById(focused).focus();
  for (const f of afterRender.splice(0)) f();
}

const afterRender = [];
// The skip link moves focus without touching the hash (the hash is the router's).
document.querySelector('a.skip').addEventListener('click', (ev) => {
  ev.preventDefault();
  main.focus();
});
window.addEventListener('hashchange', () => {
  void route().then(() => main.focus());
});

// ---------------------------------------------------------------- review queue

function certActions(serial, status, idPrefix) {
  if (!canWrite() || !status) return null;
  const box = h('div.actions', { role: 'group', 'aria-label': `Actions on certificate ${serial}` });
  if (status === 'good') {
    const hold = h('button', { type: 'button', id: `${idPrefix}-hold`, class: 'hold' }, 'Hold');
    hold.addEventListener('click', () =>
      act(hold, `Certificate ${serial} put on hold`, () => api('POST', `/api/v1/certificates/${enc(serial)}/hold`, {})),
    );
    box.append(hold);
  }
  if (status === 'held') {
    const release = h('button', { type: 'button', id: `${idPrefix}-release`, class: 'release' }, 'Release');
    release.addEventListener('click', () =>
      act(release, `Certificate ${serial} released`, () =>
        api('POST', `/api/v1/certificates/${enc(serial)}/release`, {}),
      ),
    );
    box.append(release);
  }
  if (status === 'good' || status === 'held') {
    const select = h(
      'select',
      { id: `${idPrefix}-reason`, name: 'reason' },
      REVOKE_REASONS.map((r) => h('option', { value: r, selected: r === 'privilegeWithdrawn' }, r)),
    );
    const revoke = h('button', { type: 'button', id: `${idPrefix}-revoke`, class: 'revoke danger' }, 'Revoke');
    revoke.addEventListener('click', () =>
      act(revoke, `Certificate ${serial} revoked (${select.value})`, () =>
        api('POST', `/api/v1/certificates/${enc(serial)}/revoke`, { reason: select.value }),
      ),
    );
    box.append(h('label', { for: `${idPrefix}-reason` }, 'Revocation reason'), select, revoke);
  }
  return box;
}

function reviewForm(n, idPrefix) {
  if (n.review) {
    return h(
      'p.reviewed',
      {},
      h('strong', {}, 'Reviewed'),
      ` by ${n.review.reviewer} (${n.review.role}) at ${fmtTime(n.review.at)}: `,
      h('q', {}, n.review.comment),
    );
  }
  if (!canWrite()) return h('p.muted', {}, 'Not reviewed yet.');
  const area = h('textarea', { id: `${idPrefix}-comment`, name: 'comment', rows: 2, maxlength: 2000, required: true });
  const button = h('button', { type: 'submit', id: `${idPrefix}-review` }, 'Mark reviewed');
  return h(
    'form.review',
    {
      onsubmit: (ev) => {
        ev.preventDefault();
        if (!area.value.trim()) return area.focus();
        void act(button, `Warning ${n.id} marked reviewed`, () =>
          api('POST', `/api/v1/notifications/${enc(n.id)}/review`, { comment: area.value.trim() }),
        );
      },
    },
    h('label', { for: `${idPrefix}-comment` }, 'Review comment'),
    area,
    button,
  );
}

async function queuePage() {
  const { items } = await api('GET', '/api/v1/review-queue?limit=50');
  const section = h(
    'section',
    { 'aria-labelledby': 'queue-title' },
    h('h1', { id: 'queue-title' }, 'Review queue'),
    h(
      'p.muted',
      {},
      'Risk warnings, newest first. Between the warning and the revocation threshold a person decides: a bug, or a genuine threat?',
    ),
  );
  if (!items.length) {
    section.append(h('p', { id: 'queue-empty' }, 'No warnings.'));
    return section;
  }
  const list = h('ol.queue', { id: 'queue-list' });
  const sparks = [];
  for (const n of items) {
    const idPrefix = `n-${n.id}`;
    const spark = h('div.spark-box', {}, h('span.muted', {}, 'loading…'));
    if (n.agentId) sparks.push({ agentId: n.agentId, box: spark });
    list.append(
      h(
        'li.card',
        { id: idPrefix, 'data-serial': n.serial, 'data-agent': n.agentId ?? '' },
        h(
          'div.card-head',
          {},
          h(
            'h2',
            {},
            n.agentId ? h('a', { href: `#/agents/${enc(n.agentId)}` }, n.agentId) : n.serial,
            ' ',
            bandBadge(n.band),
          ),
          h('span.score', {}, `score ${fmtScore(n.score)}`),
          spark,
        ),
        h(
          'p.meta',
          {},
          `${fmtTime(n.at)} · tenant ${n.tenant ?? '–'} · certificate `,
          h('a', { href: `#/certificates/${enc(n.serial)}` }, n.serial),
          ' · ',
          n.certificate ? statusBadge(n.certificate.status, n.certificate.reason) : 'unknown certificate',
          ` · thresholds ${fmtScore(n.thresholds.warning)} / ${fmtScore(n.thresholds.revoke)}`,
          n.action === 'hold' ? ' · held by the engine' : '',
        ),
        reasonsList(n.reasons),
        certActions(n.serial, n.certificate?.status, idPrefix),
        reviewForm(n, idPrefix),
      ),
    );
  }
  section.append(list);
  // Sparklines after the list is shown: one history per agent, a few at a time.
  afterRender.push(() => void loadSparks(sparks));
  return section;
}

async function loadSparks(sparks) {
  const byAgent = new Map();
  for (const s of sparks) byAgent.set(s.agentId, [...(byAgent.get(s.agentId) ?? []), s.box]);
  for (const [agentId, boxes] of byAgent) {
    try {
      const hist = await api('GET', `/api/v1/agents/${enc(agentId)}/risk/history?days=30`);
      for (const b of boxes) b.replaceChildren(sparkline(hist, 30));
    } catch {
      for (const b of boxes) b.replaceChildren(h('span.muted', {}, 'no history'));
    }
  }
}

// ---------------------------------------------------------------- agents

async function agentsPage() {
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const q = {
    search: params.get('q') ?? '',
    tenant: params.get('tenant') ?? '',
    status: params.get('status') ?? '',
    band: params.get('band') ?? '',
  };
  const qs = new URLSearchParams();
  if (q.tenant && me.role === 'admin') qs.set('tenant', q.tenant);
  if (q.status) qs.set('status', q.status);
  const { agents } = await api('GET', `/api/v1/agents${qs.size ? `?${qs}` : ''}`);
  const shown = agents
    .filter((a) => !q.search || `${a.agentId} ${a.organization ?? ''}`.toLowerCase().includes(q.search.toLowerCase()))
    .slice(0, 200);
  const risks = new Map();
  await Promise.all(
    shown.map(async (a) => {
      if (!a.currentSerial) return;
      try {
        risks.set(a.agentId, await api('GET', `/api/v1/agents/${enc(a.agentId)}/risk`));
      } catch {
        /* no engine or no certificate: no band */
      }
    }),
  );
  const rows = shown.filter((a) => !q.band || risks.get(a.agentId)?.band === q.band);
  const form = h(
    'form.filters',
    {
      id: 'agent-filters',
      role: 'search',
      onsubmit: (ev) => {
        ev.preventDefault();
        const f = new FormData(ev.target);
        const p = new URLSearchParams();
        for (const k of ['q', 'tenant', 'status', 'band']) if (f.get(k)) p.set(k, String(f.get(k)));
        location.hash = `#/agents${p.size ? `?${p}` : ''}`;
      },
    },
    h('label', { for: 'f-q' }, 'Search'),
    h('input', { id: 'f-q', name: 'q', type: 'search', value: q.search }),
    me.role === 'admin'
      ? [h('label', { for: 'f-tenant' }, 'Tenant'), h('input', { id: 'f-tenant', name: 'tenant', value: q.tenant })]
      : null,
    h('label', { for: 'f-status' }, 'Status'),
    h(
      'select',
      { id: 'f-status', name: 'status' },
      ['', 'active', 'decommissioning', 'decommissioned'].map((s) =>
        h('option', { value: s, selected: s === q.status }, s || 'any'),
      ),
    ),
    h('label', { for: 'f-band' }, 'Band'),
    h(
      'select',
      { id: 'f-band', name: 'band' },
      ['', 'low', 'medium', 'warning', 'revoke'].map((s) =>
        h('option', { value: s, selected: s === q.band }, s || 'any'),
      ),
    ),
    h('button', { type: 'submit' }, 'Filter'),
  );
  const table = h(
    'table',
    { id: 'agents-table' },
    h('caption', {}, `${rows.length} agent${rows.length === 1 ? '' : 's'}`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Agent', 'Tenant', 'Status', 'Score', 'Band', 'Current certificate'].map((c) => h('th', { scope: 'col' }, c)),
      ),
    ),
    h(
      'tbody',
      {},
      rows.map((a) => {
        const r = risks.get(a.agentId);
        return h(
          'tr',
          {},
          h('td', {}, h('a', { href: `#/agents/${enc(a.agentId)}` }, a.agentId)),
          h('td', {}, a.tenant),
          h('td', {}, a.status),
          h('td', {}, r ? fmtScore(r.score) : '–'),
          h('td', {}, r ? bandBadge(r.band) : '–'),
          h(
            'td',
            {},
            a.currentSerial ? h('a', { href: `#/certificates/${enc(a.currentSerial)}` }, a.currentSerial) : '–',
          ),
        );
      }),
    ),
  );
  return h('section', { 'aria-labelledby': 'agents-title' }, h('h1', { id: 'agents-title' }, 'Agents'), form, table);
}

function describeScope(d) {
  const scope = d?.agent?.agentScope;
  return scope?.length ? scope.join(', ') : 'none (default deny)';
}

function describePolicy(d) {
  const p = d?.agent?.agentPolicy;
  if (!p) return 'none';
  const parts = [];
  if (p.maxTransactionSize)
    parts.push(`at most ${p.maxTransactionSize.amount} ${p.maxTransactionSize.currency} a transaction`);
  if (p.allowedMarkets) parts.push(`markets ${p.allowedMarkets.join(', ')}`);
  if (p.revocationTimeoutSeconds !== undefined) parts.push(`revocation timeout ${p.revocationTimeoutSeconds} s`);
  return parts.join('; ') || 'none';
}

const describeModel = (d) =>
  d?.agent?.modelHash ? `${d.agent.modelHash.algorithm}:${d.agent.modelHash.digest}` : 'none';

async function agentPage(agentId) {
  const a = await api('GET', `/api/v1/agents/${enc(agentId)}`);
  let history = null;
  try {
    history = await api('GET', `/api/v1/agents/${enc(agentId)}/risk/history?days=30`);
  } catch {
    history = null;
  }
  const details = new Map();
  await Promise.all(
    a.certificates.map(async (c) => {
      try {
        details.set(c.serial, await api('GET', `/api/v1/certificates/${enc(c.serial)}`));
      } catch {
        /* shown without details */
      }
    }),
  );
  const certRows = a.certificates
    .slice()
    .reverse()
    .map((c) => {
      const d = details.get(c.serial)?.certificate;
      return h(
        'tr',
        {},
        h('td', {}, h('a', { href: `#/certificates/${enc(c.serial)}` }, c.serial), c.current ? ' (current)' : ''),
        h('td', {}, statusBadge(c.status, c.reason), c.superseded ? ' superseded' : ''),
        h('td', {}, `${fmtTime(c.notBefore)} – ${fmtTime(c.notAfter)}`),
        h('td', {}, describeScope(d)),
        h('td', {}, describePolicy(d)),
        h('td.hash', {}, describeModel(d)),
      );
    });
  const risk = a.risk;
  const chartBox = h('div.chart', {
    id: 'risk-chart',
    role: 'img',
    'aria-label': 'Risk score over the last 30 days, with the warning and revoke bands',
  });
  if (history && history.points.length) afterRender.push(() => riskChart(chartBox, history));
  else chartBox.append(h('p.muted', {}, 'No scored activity in the last 30 days.'));

  const actions = h('div.actions', { role: 'group', 'aria-label': 'Agent actions' });
  if (canWrite() && a.status === 'active') {
    const certify = h('button', { type: 'button', id: 'certify-again' }, 'Certify again');
    certify.addEventListener('click', () =>
      act(certify, `New certificate issued to ${agentId}`, () =>
        api('POST', `/api/v1/agents/${enc(agentId)}/certify`, {}),
      ),
    );
    const decommission = h('button', { type: 'button', id: 'decommission', class: 'danger' }, 'Decommission…');
    decommission.addEventListener('click', () => {
      if (decommission.dataset.armed !== 'yes') {
        decommission.dataset.armed = 'yes';
        decommission.textContent = 'Confirm: revoke every certificate of this agent';
        return;
      }
      void act(decommission, `${agentId} decommissioned`, () => api('DELETE', `/api/v1/agents/${enc(agentId)}`));
    });
    actions.append(certify, decommission);
  }
  const current = a.certificates.find((c) => c.current);
  return h(
    'section',
    { 'aria-labelledby': 'agent-title' },
    h('h1', { id: 'agent-title' }, `Agent ${a.agentId}`),
    h(
      'dl.facts',
      {},
      h('dt', {}, 'Tenant'),
      h('dd', {}, a.tenant),
      h('dt', {}, 'Status'),
      h('dd', {}, a.status),
      h('dt', {}, 'Organization'),
      h('dd', {}, a.organization ?? '–'),
      h('dt', {}, 'Environment'),
      h('dd', {}, a.environment ?? '–'),
      h('dt', {}, 'Risk now'),
      h('dd', {}, risk ? [`${fmtScore(risk.score)} `, bandBadge(risk.band)] : 'no score'),
    ),
    actions,
    current ? certActions(current.serial, current.status, 'agent-cert') : null,
    h('h2', {}, 'Certificates'),
    h(
      'table',
      { id: 'agent-certs' },
      h('caption', {}, 'Certificates issued to this agent, newest first'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Serial', 'Status', 'Validity', 'Scope', 'Policy', 'Model hash'].map((c) => h('th', { scope: 'col' }, c)),
        ),
      ),
      h('tbody', {}, certRows),
    ),
    h('h2', {}, 'Risk'),
    chartBox,
    risk ? reasonsList(risk.contributions.map((c) => ({ ...c, value: risk.features[c.feature] }))) : null,
    h('h2', {}, 'Recent events (30-day window)'),
    risk && Object.keys(risk.events ?? {}).length
      ? h(
          'ul',
          { id: 'recent-events' },
          Object.entries(risk.events).map(([f, raw]) =>
            h('li', {}, h('strong', {}, FEATURE_WORDS[f] ?? f), `: ${JSON.stringify(raw)}`),
          ),
        )
      : h('p.muted', {}, 'Nothing unusual in the window.'),
    history?.incidents?.length
      ? h(
          'ul',
          { id: 'incidents' },
          history.incidents.map((i) =>
            h('li', {}, `${fmtTime(i.time)} ${i.kind} by ${i.actor}, score ${fmtScore(i.score)}`),
          ),
        )
      : null,
    h('h2', {}, 'Credential timeline'),
    history?.timeline?.length
      ? h(
          'ol',
          { id: 'timeline', class: 'timeline' },
          history.timeline
            .slice()
            .reverse()
            .map((t) =>
              h(
                'li',
                {},
                h('time', { datetime: t.time }, fmtTime(t.time)),
                ` ${t.action}`,
                t.serial ? ` ${t.serial}` : '',
                ` by ${t.actor}`,
                t.reason ? ` (${t.reason})` : '',
                t.note ? ` — ${t.note}` : '',
              ),
            ),
        )
      : h('p.muted', {}, 'No lifecycle acts in the last 30 days.'),
  );
}

// ---------------------------------------------------------------- certificates

async function certificatesPage(serial) {
  const form = h(
    'form.filters',
    {
      id: 'cert-lookup',
      role: 'search',
      onsubmit: (ev) => {
        ev.preventDefault();
        const v = new FormData(ev.target).get('serial');
        if (v) location.hash = `#/certificates/${enc(String(v).trim())}`;
      },
    },
    h('label', { for: 'serial' }, 'Serial (hex, with or without colons, as openssl prints it)'),
    h('input', { id: 'serial', name: 'serial', value: serial ?? '', spellcheck: 'false', autocomplete: 'off' }),
    h('button', { type: 'submit', id: 'lookup' }, 'Look up'),
  );
  const section = h(
    'section',
    { 'aria-labelledby': 'certs-title' },
    h('h1', { id: 'certs-title' }, 'Certificates'),
    form,
  );
  if (!serial) return section;
  const c = await api('GET', `/api/v1/certificates/${enc(serial)}`);
  const d = c.certificate;
  const ocspOut = h('p', { id: 'ocsp-result', role: 'status' }, '');
  const ocspButton = h('button', { type: 'button', id: 'ocsp-check' }, 'Check OCSP as a counterparty');
  ocspButton.addEventListener('click', async () => {
    ocspButton.disabled = true;
    ocspOut.textContent = 'asking the OCSP responder…';
    try {
      const o = await api('GET', `/api/v1/certificates/${enc(c.serial)}/ocsp`);
      ocspOut.textContent = o.ok
        ? `OCSP answers ${o.status}${o.reason ? ` (${o.reason})` : ''}${o.revokedAt ? ` since ${fmtTime(o.revokedAt)}` : ''}, signature verified (${o.source})`
        : `OCSP check failed: ${o.detail}`;
    } catch (e) {
      ocspOut.textContent = `OCSP check failed: ${errorText(e)}`;
    }
    ocspButton.disabled = false;
  });
  const pem = h('button', { type: 'button', id: 'download-pem' }, 'Download PEM');
  pem.addEventListener('click', () =>
    download(`/api/v1/certificates/${enc(c.serial)}/certificate.pem`, `${c.serial}.pem`).catch((e) =>
      toast(errorText(e), 'error'),
    ),
  );
  const chain = h('button', { type: 'button', id: 'download-chain' }, 'Download chain');
  chain.addEventListener('click', () =>
    download(`/api/v1/certificates/${enc(c.serial)}/chain.pem`, `${c.serial}-chain.pem`).catch((e) =>
      toast(errorText(e), 'error'),
    ),
  );
  section.append(
    h('h2', { id: 'cert-title' }, `Certificate ${c.serial}`),
    h(
      'dl.facts',
      { id: 'cert-facts' },
      h('dt', {}, 'Status'),
      h(
        'dd',
        { id: 'cert-status' },
        statusBadge(c.status, c.reason),
        c.revokedAt ? ` since ${fmtTime(c.revokedAt)}` : '',
      ),
      h('dt', {}, 'Subject'),
      h('dd', {}, c.subject),
      h('dt', {}, 'Agent'),
      h('dd', {}, c.agentId ? h('a', { href: `#/agents/${enc(c.agentId)}` }, c.agentId) : '–'),
      h('dt', {}, 'Tenant'),
      h('dd', {}, c.tenant ?? '–'),
      h('dt', {}, 'Validity'),
      h('dd', {}, `${fmtTime(c.notBefore)} – ${fmtTime(c.notAfter)}`),
      h('dt', {}, 'Scope'),
      h('dd', {}, describeScope(d)),
      h('dt', {}, 'Policy'),
      h('dd', {}, describePolicy(d)),
      h('dt', {}, 'Model hash'),
      h('dd.hash', {}, describeModel(d)),
      h('dt', {}, 'SHA-256 fingerprint'),
      h('dd.hash', {}, d?.fingerprintSha256 ?? '–'),
    ),
    h('div.actions', { role: 'group', 'aria-label': 'Downloads and checks' }, pem, chain, ocspButton),
    ocspOut,
    certActions(c.serial, c.status, 'cert'),
  );
  return section;
}

// ---------------------------------------------------------------- reports

let followed = null; // the report being followed: { id, timer }

async function reportsPage() {
  const today = new Date().toISOString().slice(0, 10);
  const monthAgo = new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10);
  const status = h('div', { id: 'report-status', role: 'status' });
  const form = h(
    'form.filters',
    {
      id: 'report-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        const f = new FormData(ev.target);
        const body = { start_date: f.get('start'), end_date: f.get('end') };
        const subject = String(f.get('subject') ?? '').trim();
        if (f.get('kind') === 'tenant') body.tenant = subject;
        else body.agent_id = subject;
        try {
          const job = await api('POST', '/api/v1/reports/compliance', body);
          follow(job.id, status);
        } catch (e) {
          status.replaceChildren(h('p.error', { role: 'alert' }, errorText(e)));
        }
      },
    },
    h('label', { for: 'r-kind' }, 'Report on'),
    h(
      'select',
      { id: 'r-kind', name: 'kind' },
      h('option', { value: 'agent' }, 'an agent'),
      h('option', { value: 'tenant' }, 'a tenant'),
    ),
    h('label', { for: 'r-subject' }, 'Agent id or tenant'),
    h('input', { id: 'r-subject', name: 'subject', required: true }),
    h('label', { for: 'r-start' }, 'From'),
    h('input', { id: 'r-start', name: 'start', type: 'date', value: monthAgo, required: true }),
    h('label', { for: 'r-end' }, 'To (exclusive)'),
    h('input', { id: 'r-end', name: 'end', type: 'date', value: today, required: true }),
    h('button', { type: 'submit', id: 'report-start' }, 'Start report'),
  );
  if (followed) afterRender.push(() => follow(followed.id, status));
  return h(
    'section',
    { 'aria-labelledby': 'reports-title' },
    h('h1', { id: 'reports-title' }, 'Compliance reports'),
    h(
      'p.muted',
      {},
      'A signed PDF and an evidence zip (audit entries, manifest, CA chain) for an agent or a tenant over a date range.',
    ),
    form,
    status,
  );
}

function follow(id, box) {
  if (followed?.timer) clearTimeout(followed.timer);
  followed = { id, timer: undefined };
  const tick = async () => {
    if (!box.isConnected) return;
    try {
      const job = await api('GET', `/api/v1/reports/${enc(id)}`);
      const progress = h('progress', {
        max: 3,
        value: { pending: 0, running: 1, done: 3, failed: 3 }[job.status] ?? 0,
        'aria-label': 'Report progress',
      });
      const parts = [
        h(
          'p',
          {},
          `Report ${job.id}: `,
          h('strong', { id: 'report-state' }, job.status),
          ` (asked by ${job.requestedBy} at ${fmtTime(job.createdAt)})`,
        ),
        progress,
      ];
      if (job.status === 'done') {
        const pdf = h('button', { type: 'button', id: 'report-pdf' }, 'Download PDF');
        pdf.addEventListener('click', () =>
          download(job.links.pdf, `${job.id}.pdf`).catch((e) => toast(errorText(e), 'error')),
        );
        const zip = h('button', { type: 'button', id: 'report-zip' }, 'Download evidence (zip)');
        zip.addEventListener('click', () =>
          download(job.links.evidence, `${job.id}.zip`).catch((e) => toast(errorText(e), 'error')),
        );
        parts.push(h('div.actions', {}, pdf, zip));
      }
      if (job.status === 'failed') parts.push(h('p.error', { role: 'alert' }, job.error?.message ?? 'failed'));
      box.replaceChildren(...parts);
      if (job.status === 'pending' || job.status === 'running') followed.timer = setTimeout(() => void tick(), 1000);
    } catch (e) {
      box.replaceChildren(h('p.error', { role: 'alert' }, errorText(e)));
    }
  };
  void tick();
}

// ---------------------------------------------------------------- boot

if (token.get()) {
  start().catch(() => {
    token.clear();
    renderSignIn('Sign in again.');
  });
} else {
  renderSignIn();
}
