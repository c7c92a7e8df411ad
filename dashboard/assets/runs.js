// The training runs page: GET /v1/runs in a table; a run's details
// (?run=ID) or two runs side by side (?a=ID&b=ID). Text only via
// textContent: nothing from the API is parsed as HTML.
(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const el = (tag, text, cls) => {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  };
  const row = (cells, tag = 'td') => {
    const tr = el('tr');
    for (const c of cells) tr.append(c instanceof Node ? wrap(tag, c) : el(tag, c));
    return tr;
  };
  const wrap = (tag, node) => { const e = el(tag); e.append(node); return e; };
  const table = (head, rows) => {
    const t = el('table', null, 'grid');
    const th = el('thead'); th.append(row(head, 'th'));
    const tb = el('tbody'); tb.append(...rows);
    t.append(th, tb);
    return t;
  };
  const pct = (v) => (v === null || v === undefined || !isFinite(v)) ? 'n/a' : (100 * v).toFixed(2) + '%';
  const skill = (s, lo, hi) => `${pct(s)} [${pct(lo)}, ${pct(hi)}]`;
  const num = (v) => (v === null || v === undefined || !isFinite(v)) ? 'n/a' : Number(v).toPrecision(4);
  const gate = (p) => p.pass === null || p.pass === undefined ? (p.serve || 'not gated') : p.pass ? 'pass' : `fail (${p.serve} serves)`;
  const gateCls = (p) => p.pass === true ? 'pos' : p.pass === false ? 'neg' : 'muted';
  const time = (t) => t ? t.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z') : '–';
  const versions = (vs) => (vs || []).map((v) => `${v.product}:v${v.version} ${v.name} (${v.status})`).join(' · ') || '–';
  const esc = encodeURIComponent;

  async function get(path) {
    const r = await fetch(path, { headers: { Accept: 'application/json' } });
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(`${path}: ${r.status} ${body.error || ''} ${body.message || ''}`);
    return body;
  }

  function headline(r, product) {
    const p = (r.products || []).find((x) => x.product === product);
    if (!p) return el('span', '–', 'muted');
    const s = el('span', `${skill(p.skill, p.skill_lo, p.skill_hi)} ${gate(p)}`, gateCls(p));
    s.title = `${p.metric} vs ${p.baseline}: ${p.reason || ''}`;
    return s;
  }

  let runs = [];
  async function loadList() {
    const q = new URLSearchParams();
    if ($('f-pair').value) q.set('pair', $('f-pair').value);
    if ($('f-horizon').value) q.set('horizon', $('f-horizon').value);
    const list = await get('/v1/runs' + (q.toString() ? '?' + q : ''));
    runs = list.runs || [];
    fillFilter('f-pair', runs.map((r) => r.pair));
    fillFilter('f-horizon', runs.map((r) => r.horizon));
    const rows = runs.map((r) => {
      const box = el('input'); box.type = 'checkbox'; box.value = r.id; box.className = 'pick';
      box.addEventListener('change', pickChanged);
      const a = el('a', r.id); a.href = '?run=' + esc(r.id);
      a.addEventListener('click', (ev) => { ev.preventDefault(); navigate('?run=' + esc(r.id)); });
      const tr = row([box, a, time(r.time), r.trials, headline(r, 'return'), headline(r, 'vol'), headline(r, 'quantiles'), headline(r, 'p_up'),
        el('span', versions(r.versions), 'small')]);
      tr.dataset.run = r.id;
      return tr;
    });
    $('runs').replaceChildren(...(rows.length ? rows : [row([el('span', 'no runs in the data directory', 'muted')])]));
    const sk = list.skipped || [];
    $('skipped').hidden = sk.length === 0;
    $('skipped').textContent = 'skipped: ' + sk.map((s) => `${s.dir} (${s.reason})`).join('; ');
    $('status').textContent = `${runs.length} run(s)`;
  }

  function fillFilter(id, values) {
    const sel = $(id);
    const have = new Set([...sel.options].map((o) => o.value));
    for (const v of [...new Set(values.map(String))].sort()) {
      if (!have.has(v)) { const o = el('option', v); o.value = v; sel.append(o); }
    }
  }

  function pickChanged() {
    const picked = [...document.querySelectorAll('.pick:checked')].map((b) => b.value);
    $('compare').disabled = picked.length !== 2;
  }

  function plots(id, names) {
    const box = el('div', null, 'plots');
    for (const n of names || []) {
      const fig = el('figure');
      const img = el('img'); img.src = `/v1/runs/${esc(id)}/files/${esc(n)}`; img.alt = n; img.loading = 'lazy';
      fig.append(img, el('figcaption', n));
      box.append(fig);
    }
    return box;
  }

  function productsTable(ps) {
    return table(['product', 'metric', 'model', 'baseline', 'baseline loss', 'skill [95% CI]', 'DM p', 'gate', 'why'],
      (ps || []).map((p) => row([p.product, p.metric, num(p.model_loss), p.baseline, num(p.baseline_loss),
        skill(p.skill, p.skill_lo, p.skill_hi), num(p.dm_p), el('span', gate(p), gateCls(p)), el('span', p.reason || '', 'small wrap')])));
  }

  async function showRun(id) {
    const r = await get('/v1/runs/' + esc(id));
    const body = [];
    body.push(el('p', `${r.pair} h${r.horizon} · ${time(r.time)} · ${r.model} v${r.version} · test ${time(r.test_from)} → ${time(r.test_to)} (${r.test_rows} rows)`));
    body.push(el('p', 'versions: ' + versions(r.versions), 'small'));
    body.push(el('h3', 'products'), productsTable(r.products));
    body.push(el('h3', 'parameters'), table(['name', 'value'], Object.keys(r.params || {}).sort().map((k) => row([k, r.params[k]]))));
    const trials = r.tuning_history || [];
    body.push(el('h3', `tuning history (${trials.length} trials)`), table(['trial', 'rung', 'CV MAE', 'rounds', 'seconds', 'params'],
      trials.map((t) => row([t.id, t.rung, num(t.score), t.rounds, ((t.duration_ns || 0) / 1e9).toFixed(1),
        el('span', Object.entries(t.params || {}).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toPrecision(4) : v}`).join(' '), 'small')]))));
    if (r.product_details) body.push(el('h3', 'every product\'s skills'), skillsOf(r));
    for (const n of r.notes || []) body.push(el('p', n, 'small'));
    const files = el('p', 'files: ', 'small');
    for (const f of r.files || []) {
      if (!/\.(svg|csv|md|json)$/.test(f)) continue;
      const a = el('a', f); a.href = `/v1/runs/${esc(r.id)}/files/${esc(f)}`; files.append(a, ' ');
    }
    body.push(files, el('h3', 'plots'), plots(r.id, r.plots));
    open(r.id, body);
  }

  function skillsOf(r) {
    const d = r.product_details, rows = [];
    for (const [product, rep] of [['vol', d.vol], ['quantiles', d.quantiles], ['p_up', d.p_up]]) {
      for (const s of (rep && rep.skills) || []) rows.push(row([product, s.metric, s.baseline, skill(s.skill, s.skill_lo, s.skill_hi), num(s.dm_p), s.rows]));
    }
    return table(['product', 'metric', 'baseline', 'skill [95% CI]', 'DM p', 'rows'], rows);
  }

  async function showCompare(a, b) {
    const [c, ra, rb] = await Promise.all([get(`/v1/runs/${esc(a)}/compare/${esc(b)}`), get('/v1/runs/' + esc(a)), get('/v1/runs/' + esc(b))]);
    const body = [];
    body.push(table(['', 'A', 'B'], [
      row(['run', c.a.id, c.b.id]), row(['time', time(c.a.time), time(c.b.time)]), row(['trials', c.a.trials, c.b.trials]),
      row(['versions', el('span', versions(c.a.versions), 'small'), el('span', versions(c.b.versions), 'small')]),
    ]));
    body.push(el('h3', 'gates'), table(['product', 'A', 'B'], (c.a.products || []).map((p) => {
      const q = (c.b.products || []).find((x) => x.product === p.product) || {};
      return row([p.product, el('span', `${gate(p)} · ${skill(p.skill, p.skill_lo, p.skill_hi)}`, gateCls(p)),
        el('span', q.product ? `${gate(q)} · ${skill(q.skill, q.skill_lo, q.skill_hi)}` : '–', gateCls(q))]);
    })));
    body.push(el('h3', 'skills (every product × baseline, skill [95% CI])'), table(['product', 'metric', 'vs', 'A', 'B'],
      (c.skills || []).map((s) => row([s.product, s.metric, s.baseline, s.a ? skill(s.a.skill, s.a.skill_lo, s.a.skill_hi) : '–',
        s.b ? skill(s.b.skill, s.b.skill_lo, s.b.skill_hi) : '–']))));
    body.push(el('h3', 'parameters'), table(['name', 'A', 'B'], (c.params || []).map((p) => {
      const tr = row([p.name, p.a || '–', p.b || '–']);
      if (p.differs) tr.className = 'differs';
      return tr;
    })));
    const diffs = el('ul', null, 'diffs');
    for (const d of c.differences || []) diffs.append(el('li', d));
    body.push(el('h3', 'differences'), diffs);
    const side = el('div', null, 'side');
    for (const r of [ra, rb]) { const col = el('div'); col.append(el('h3', 'plots · ' + r.id), plots(r.id, r.plots)); side.append(col); }
    body.push(side);
    open(`compare ${a} ↔ ${b}`, body);
  }

  function open(title, body) {
    $('view-title').textContent = title;
    $('view-body').replaceChildren(...body);
    $('view').hidden = false;
    $('view').dataset.loaded = title;
  }

  function navigate(search) {
    history.pushState(null, '', search || location.pathname);
    route().catch(fail);
  }

  async function route() {
    const q = new URLSearchParams(location.search);
    if (q.get('a') && q.get('b')) return showCompare(q.get('a'), q.get('b'));
    if (q.get('run')) return showRun(q.get('run'));
    $('view').hidden = true;
  }

  function fail(err) {
    $('status').textContent = String(err.message || err);
    $('status').className = 'error';
  }

  $('compare').addEventListener('click', () => {
    const [a, b] = [...document.querySelectorAll('.pick:checked')].map((x) => x.value);
    navigate(`?a=${esc(a)}&b=${esc(b)}`);
  });
  $('view-close').addEventListener('click', (ev) => { ev.preventDefault(); navigate(''); });
  for (const id of ['f-pair', 'f-horizon']) $(id).addEventListener('change', () => loadList().catch(fail));
  window.addEventListener('popstate', () => route().catch(fail));
  loadList().then(route).catch(fail);
})();
