// tickcast dashboard: plain browser JavaScript over the JSON API and the
// WebSocket stream of the same origin; no build step, no external requests.
(() => {
  'use strict';

  const REFRESH_MS = 10000;    // poll what the stream does not carry, and re-ask the server about staleness
  const SLOW_REFRESH_MS = 60000;
  const CANDLES = 300;         // the API's default; max 1440
  const HISTORY = 300;
  const ROWS = 12;             // rows in the recent-predictions table
  const MAX_POINTS = 1440;     // points kept per chart series

  const $ = (id) => document.getElementById(id);
  const state = {
    pair: '', horizon: 1, interval: 60, // seconds per candle, learnt from the candles
    prediction: null, receivedAt: 0,
    all: new Map(),                     // "PAIR|h" -> latest prediction of every pair
    pairs: new Set(), horizons: new Map(), // pair -> Set of horizons with a champion
    ws: null, wsRetry: 0, wsLive: false,
    candles: new Map(), predicted: new Map(), realized: new Map(), // chart time (s) -> point
    band10: new Map(), band90: new Map(), vol: new Map(),            // the products: p10/p90 prices, vol in bps
    seq: 0,                             // bumps on every pair/horizon change; late answers of an older selection are dropped
  };

  // ---- small helpers -----------------------------------------------------

  // slug spells a pair the way the API's URLs and the stream do: ETH-USDT.
  const slug = (p) => String(p || '').trim().toUpperCase().replace('/', '-');

  // pick returns the first of the named fields that o has, so the page reads
  // both the API's snake_case and Go's default field names.
  function pick(o, ...names) {
    if (!o) return undefined;
    for (const n of names) if (o[n] !== undefined && o[n] !== null) return o[n];
    return undefined;
  }

  // seconds reads RFC 3339 text, Unix seconds or Unix milliseconds.
  function seconds(v) {
    if (v === undefined || v === null || v === '') return NaN;
    if (typeof v === 'number') return Math.floor(v > 1e11 ? v / 1000 : v);
    const n = Date.parse(v);
    return Number.isNaN(n) ? NaN : Math.floor(n / 1000);
  }

  // list finds the array in an answer: the answer itself or its first array field of the given names.
  function list(body, ...names) {
    if (Array.isArray(body)) return body;
    for (const n of names) if (body && Array.isArray(body[n])) return body[n];
    return [];
  }

  const pad = (n) => String(n).padStart(2, '0');
  function utc(v) {
    const s = seconds(v);
    if (Number.isNaN(s)) return '–';
    const d = new Date(s * 1000);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}Z`;
  }
  function hhmm(v) {
    const s = seconds(v);
    if (Number.isNaN(s)) return '–';
    const d = new Date(s * 1000);
    return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  }
  function price(x) {
    if (typeof x !== 'number' || !Number.isFinite(x)) return '–';
    const digits = Math.abs(x) >= 1000 ? 2 : Math.abs(x) >= 1 ? 4 : 6;
    return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  }
  const bps = (r) => (typeof r === 'number' && Number.isFinite(r) ? `${(r * 1e4).toFixed(2)}` : '–');
  function age(ms) {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) return '–';
    if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
    const s = ms / 1000;
    if (s < 60) return `${s.toFixed(1)} s`;
    if (s < 3600) return `${Math.floor(s / 60)}m ${pad(Math.floor(s % 60))}s`;
    return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  }
  const model = (m) => (m ? `${m.name || '?'} v${m.version}` : '–');

  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function row(cells, cls) {
    const tr = el('tr', undefined, cls);
    for (const c of cells) {
      const td = el('td', c.text !== undefined ? c.text : c, c.cls);
      if (c.title) td.title = c.title;
      tr.appendChild(td);
    }
    return tr;
  }
  function fill(tbody, rows, empty, span) {
    tbody.replaceChildren(...(rows.length ? rows : [row([{ text: empty, cls: 'muted' }])]));
    if (!rows.length) tbody.firstChild.firstChild.colSpan = span;
  }
  function badge(node, text, level) {
    node.textContent = text;
    node.className = `badge ${level || ''}`;
  }
  const sign = (x) => (x > 0 ? 'pos' : x < 0 ? 'neg' : '');

  let bannerTimer = 0;
  function banner(text) {
    const b = $('banner');
    b.textContent = text;
    b.hidden = !text;
    clearTimeout(bannerTimer);
    if (text) bannerTimer = setTimeout(() => { b.hidden = true; }, 15000);
  }

  // api fetches a JSON answer; it never throws: a network failure is status 0.
  async function api(path) {
    let res;
    try {
      res = await fetch(path, { headers: { Accept: 'application/json' }, cache: 'no-store' });
    } catch (e) {
      return { ok: false, status: 0, body: { error: 'offline', message: `${path}: ${e.message || e}` } };
    }
    let body;
    try {
      body = await res.json();
    } catch (e) {
      body = { error: 'bad_response', message: `${path}: HTTP ${res.status}, not JSON` };
    }
    return { ok: res.ok, status: res.status, body: body || {} };
  }

  // ---- chart ---------------------------------------------------------------

  const chart = {};
  function initChart() {
    const LWC = window.LightweightCharts;
    if (!LWC) {
      banner('charting library failed to load: /assets/vendor/lightweight-charts.standalone.production.js');
      return;
    }
    const css = getComputedStyle(document.documentElement);
    const v = (n) => css.getPropertyValue(n).trim();
    chart.api = LWC.createChart($('chart'), {
      autoSize: true,
      layout: { background: { type: 'solid', color: v('--panel') }, textColor: v('--text'), fontSize: 11, attributionLogo: true },
      grid: { vertLines: { color: '#1d232c' }, horzLines: { color: '#1d232c' } },
      rightPriceScale: { borderColor: v('--line') },
      timeScale: { borderColor: v('--line'), timeVisible: true, secondsVisible: false, rightOffset: 4 },
      crosshair: { mode: 0 },
    });
    chart.candles = chart.api.addSeries(LWC.CandlestickSeries, {
      upColor: v('--up'), downColor: v('--down'), wickUpColor: v('--up'), wickDownColor: v('--down'), borderVisible: false,
    });
    chart.predicted = chart.api.addSeries(LWC.LineSeries, {
      color: v('--pred'), lineWidth: 2, priceLineVisible: false, lastValueVisible: true, title: 'pred',
      crosshairMarkerVisible: true, pointMarkersVisible: false,
    });
    chart.realized = chart.api.addSeries(LWC.LineSeries, {
      color: v('--real'), lineWidth: 1, lineStyle: 2, priceLineVisible: false, lastValueVisible: false,
    });
    // The quantiles product: the p10 and p90 prices around the predicted close.
    const band = { color: v('--band'), lineWidth: 1, lineStyle: 1, priceLineVisible: false, lastValueVisible: false, crosshairMarkerVisible: false };
    chart.band10 = chart.api.addSeries(LWC.LineSeries, { ...band, title: 'p10' });
    chart.band90 = chart.api.addSeries(LWC.LineSeries, { ...band, title: 'p90' });
    // The vol product, in its own pane under the prices.
    chart.vol = chart.api.addSeries(LWC.LineSeries, {
      color: v('--vol'), lineWidth: 2, priceLineVisible: false, lastValueVisible: true, title: 'vol bps',
      priceFormat: { type: 'price', precision: 2, minMove: 0.01 },
    }, 1);
    const panes = chart.api.panes ? chart.api.panes() : [];
    if (panes[1]) panes[1].setHeight(110);
  }

  // draw replaces a series' data with the points of m in time order; put
  // adds one point, cheaply when it is the newest.
  function draw(series, m) {
    if (!chart.api) return;
    series.setData([...m.values()].sort((a, b) => a.time - b.time));
    count();
  }
  function put(series, m, p) {
    if (Number.isNaN(p.time)) return;
    let newest = -Infinity;
    for (const t of m.keys()) if (t > newest) newest = t;
    m.set(p.time, p);
    if (m.size > MAX_POINTS + 60) { // a page left open for days stays small
      for (const t of [...m.keys()].sort((a, b) => a - b).slice(0, m.size - MAX_POINTS)) m.delete(t);
      draw(series, m);
      return;
    }
    if (!chart.api) return;
    if (p.time >= newest) series.update(p);
    else draw(series, m);
    count();
  }
  // count publishes what the chart holds as data attributes (tests and curious operators read them).
  function count() {
    const c = $('chart');
    c.dataset.candles = state.candles.size;
    c.dataset.predicted = state.predicted.size;
    c.dataset.realized = state.realized.size;
    c.dataset.band = Math.min(state.band10.size, state.band90.size);
    c.dataset.vol = state.vol.size;
  }

  // target is the chart time of the candle whose close a prediction is
  // about: the candle ending at target_time, drawn (like every candle) at its start.
  const target = (p) => seconds(p.target_time) - state.interval;

  function candlePoint(c) {
    const start = seconds(pick(c, 'start', 'Start', 'time', 'open_time'));
    const end = seconds(pick(c, 'end', 'End', 'close_time'));
    if (!Number.isNaN(start) && !Number.isNaN(end) && end > start) state.interval = end - start;
    return {
      time: start,
      open: pick(c, 'open', 'Open'), high: pick(c, 'high', 'High'), low: pick(c, 'low', 'Low'), close: pick(c, 'close', 'Close'),
    };
  }

  // ---- loaders -------------------------------------------------------------

  async function loadCandles(limit, seq) {
    const r = await api(`/v1/candles/${encodeURIComponent(state.pair)}?limit=${limit}`);
    if (seq !== state.seq) return;
    if (!r.ok) {
      banner(`candles: ${r.body.message || r.body.error || r.status}`);
      return;
    }
    const pts = list(r.body, 'candles', 'items').map(candlePoint).filter((p) => !Number.isNaN(p.time) && typeof p.close === 'number');
    if (limit >= CANDLES) {
      state.candles.clear();
      for (const p of pts) state.candles.set(p.time, p);
      draw(chart.candles, state.candles);
      if (chart.api) chart.api.timeScale().scrollToRealTime();
    } else {
      for (const p of pts) put(chart.candles, state.candles, p);
    }
  }

  async function loadHistory(limit, seq) {
    const q = `horizon=${state.horizon}&limit=${limit}`;
    const r = await api(`/v1/predictions/${encodeURIComponent(state.pair)}/history?${q}`);
    if (seq !== state.seq) return;
    if (!r.ok) {
      banner(`history: ${r.body.message || r.body.error || r.status}`);
      return;
    }
    const items = list(r.body, 'history', 'predictions', 'items');
    for (const s of items) {
      const t = target(s);
      if (typeof s.predicted_price === 'number') state.predicted.set(t, { time: t, value: s.predicted_price });
      if (typeof s.realized_price === 'number') state.realized.set(t, { time: t, value: s.realized_price });
    }
    draw(chart.predicted, state.predicted);
    draw(chart.realized, state.realized);
    renderHistory(items);
  }

  function renderHistory(items) {
    const rows = items.slice(-ROWS).reverse().map((s) => row([
      hhmm(s.as_of),
      { text: price(s.predicted_price), cls: 'num' },
      { text: typeof s.realized_price === 'number' ? price(s.realized_price) : 'pending', cls: typeof s.realized_price === 'number' ? 'num' : 'muted' },
      { text: typeof s.abs_error === 'number' ? bps(s.abs_error) : '–', cls: 'num' },
      { text: String(s.served ?? '–'), cls: 'num' },
    ]));
    fill($('history'), rows, 'no predictions recorded yet', 5);
  }

  // loadPrediction asks the server for the pair's prediction; a refusal
  // (stale or warming-up features, no model) is shown as a badge, and a stale
  // answer is fetched again with allow_stale so the last figures stay visible.
  async function loadPrediction(seq) {
    const base = `/v1/predictions/${encodeURIComponent(state.pair)}?horizon=${state.horizon}`;
    const r = await api(base);
    if (seq !== state.seq) return;
    if (r.ok) {
      showPrediction(r.body);
      return;
    }
    showRefusal(r.body.error || `http_${r.status}`, r.body.message || '');
    if (r.body.error === 'stale_features') {
      const s = await api(`${base}&allow_stale=true`);
      if (seq === state.seq && s.ok) showPrediction(s.body, true);
    }
  }

  const refusals = {
    stale_features: ['stale', 'bad'], warming_up: ['warming up', 'warn'], no_features: ['no features', 'warn'],
    not_ready: ['not ready', 'warn'], no_model: ['no model', 'bad'], unknown_pair: ['unknown pair', 'bad'],
    model_error: ['model error', 'bad'], timeout: ['timeout', 'bad'], offline: ['offline', 'bad'],
  };
  function showRefusal(code, message) {
    const [text, level] = refusals[code] || [code.replace(/_/g, ' '), 'bad'];
    badge($('pred-state'), text, level);
    $('pred-state').dataset.code = code;
    const e = $('pred-error');
    e.textContent = message ? `${code}: ${message}` : code;
    e.hidden = false;
  }

  // showPrediction fills the panel; keepRefusal keeps the badge and message
  // of the refusal that the (stale) prediction illustrates.
  function showPrediction(p, keepRefusal) {
    state.prediction = p;
    state.receivedAt = Date.now();
    $('pred-model').textContent = model(p.model);
    $('pred-model').dataset.version = p.model ? p.model.version : '';
    $('pred-asof').textContent = utc(p.as_of);
    $('pred-target').textContent = `${utc(p.target_time)} (h${p.horizon})`;
    $('pred-last').textContent = price(p.last_price);
    $('pred-price').textContent = price(p.predicted_price);
    const ret = $('pred-return');
    ret.textContent = `${bps(p.predicted_return)} bps`;
    ret.className = `num ${sign(p.predicted_return)}`;
    $('pred-age').textContent = `${age(p.feature_age_ms)}${p.cached ? ' · cached' : ''}`;
    const q = quality(p);
    $('pred-quality').textContent = q.text;
    $('pred-quality').className = q.cls;
    $('pred-quality').title = q.title;
    $('pred-quality').dataset.complete = String(p.complete === true);
    $('pred-quality').dataset.revision = String(p.revision ?? '');
    $('pred-quality').dataset.gapOpen = String(p.gap_open === true);
    $('pred-quality').dataset.degraded = String(p.degraded === true);
    document.title = `${slug(p.pair)} ${price(p.predicted_price)} · tickcast`;
    tickReceived();
    if (!keepRefusal) {
      if (p.stale) badge($('pred-state'), 'stale', 'bad');
      else badge($('pred-state'), 'fresh', 'ok');
      $('pred-state').dataset.code = p.stale ? 'stale' : 'ok';
      $('pred-error').hidden = true;
    }
    const t = target(p);
    if (typeof p.predicted_price === 'number') put(chart.predicted, state.predicted, { time: t, value: p.predicted_price });
    showProducts(p, t);
  }

  // showProducts fills the vol, band and P(up) lines of the panel and draws
  // the band and the vol at the target candle; a product the pair × horizon
  // does not serve shows as –.
  function showProducts(p, t) {
    const q = p.quantiles;
    const band = $('pred-band');
    band.textContent = q ? `${price(q.p10)} – ${price(q.p90)}` : '–';
    band.title = q ? `80% band of the close at the target (median ${price(q.p50)}); ${model(q.model)}` : 'no quantiles champion';
    if (q && typeof q.p10 === 'number' && typeof q.p90 === 'number') {
      put(chart.band10, state.band10, { time: t, value: q.p10 });
      put(chart.band90, state.band90, { time: t, value: q.p90 });
    }
    const vol = $('pred-vol');
    vol.textContent = p.vol ? `${bps(p.vol.value)} bps` : '–';
    vol.title = p.vol ? `realized volatility of the log returns up to the target; ${model(p.vol.model)}` : 'no vol champion';
    if (p.vol && typeof p.vol.value === 'number') put(chart.vol, state.vol, { time: t, value: p.vol.value * 1e4 });
    const up = $('pred-pup');
    up.textContent = p.p_up ? `${(p.p_up.value * 100).toFixed(1)}%` : '–';
    up.title = p.p_up ? `probability that the close at the target is above the last; ${model(p.p_up.model)}` : 'no p_up champion';
  }
  // quality sums up the data-quality fields of a prediction: whether its
  // feature row is complete (and its revision), whether the pipeline has an
  // open gap for the pair, and whether a fallback model answered.
  // short is the table's form: ✓/✗ (complete) r<revision>, gap, fb (fallback).
  function quality(p, short) {
    const parts = short ? [`${p.complete ? '✓' : '✗'}r${p.revision ?? '?'}`] : [p.complete ? 'complete' : 'incomplete', `rev ${p.revision ?? '?'}`];
    if (p.gap_open) parts.push(short ? 'gap' : 'gap open');
    if (p.degraded) parts.push(short ? 'fb' : 'degraded');
    const bad = p.degraded || p.gap_open || !p.complete;
    const title = [p.complete ? 'complete feature row' : 'incomplete feature row (trades missing)', `revision ${p.revision ?? '?'}`,
      p.gap_open ? 'the pipeline has an open gap for the pair' : '',
      p.degraded ? `fallback model: ${p.degraded_reason || 'the champion could not be loaded'}` : ''].filter(Boolean).join('; ');
    return { text: parts.join(short ? ' ' : ' · '), cls: `${bad ? 'warn-text' : 'muted'}${short ? ' small' : ''}`, title };
  }
  function tickReceived() {
    $('pred-received').textContent = state.receivedAt ? `${age(Date.now() - state.receivedAt)} ago` : '–';
  }

  async function loadAll() {
    const r = await api('/v1/predictions');
    if (!r.ok) return;
    for (const p of list(r.body, 'predictions')) {
      state.all.set(`${slug(p.pair)}|${p.horizon}`, p);
      learn(p.pair, p.horizon);
    }
    for (const e of list(r.body, 'errors')) {
      if (e.pair) learn(e.pair, e.horizon);
      if (e.pair && e.horizon) state.all.set(`${slug(e.pair)}|${e.horizon}`, { pair: slug(e.pair), horizon: e.horizon, error: e.error, message: e.message });
    }
    renderAll();
  }

  function renderAll() {
    const keys = [...state.all.keys()].sort();
    const rows = keys.map((k) => {
      const p = state.all.get(k);
      const cur = slug(p.pair) === state.pair && p.horizon === state.horizon ? 'current' : '';
      if (p.error) {
        const [text] = refusals[p.error] || [p.error];
        return row([slug(p.pair), `h${p.horizon}`, { text, cls: 'muted' }, '–', '–', '–', '–'], cur);
      }
      return row([
        slug(p.pair), `h${p.horizon}`, model(p.model),
        { text: price(p.predicted_price), cls: 'num' },
        { text: bps(p.predicted_return), cls: `num ${sign(p.predicted_return)}` },
        age(p.feature_age_ms),
        quality(p, true),
      ], cur);
    });
    fill($('all'), rows, 'no predictions', 7);
  }

  async function loadScores() {
    const r = await api('/v1/scores');
    if (!r.ok) return;
    const mine = list(r.body, 'scores').filter((s) => slug(s.pair) === state.pair).sort((a, b) => a.horizon - b.horizon);
    const rows = mine.map((s) => row([
      `h${s.horizon}`, { text: `${s.n}/${s.window}`, cls: 'num' }, model(s.model),
      { text: bps(s.mae), cls: 'num' }, { text: bps(s.baseline_mae), cls: 'num' },
      { text: typeof s.skill === 'number' ? `${(s.skill * 100).toFixed(1)}%` : '–', cls: `num ${sign(s.skill)}` },
    ], s.horizon === state.horizon ? 'current' : ''));
    fill($('scores'), rows, 'no scored predictions yet', 6);
    const cur = mine.find((s) => s.horizon === state.horizon);
    $('product-scores').textContent = productScores(cur && cur.products);
    fill($('prequential'), prequential(cur && cur.windows), 'no prequential scores yet', 6);
  }

  // prequential lists the products' skill over the last hour and day of
  // market time at the shown horizon (GET /v1/scores windows), each against
  // its baseline: 1 − model loss / baseline loss.
  const preqProducts = [['return', 'zero return'], ['vol', 'last-rv'], ['quantiles', 'Gaussian band (pinball)'], ['p_up', '0.5 (Brier)']];
  function prequential(ws) {
    if (!ws || !ws['1h'] || !ws['1d']) return [];
    const skill = (k) => {
      if (!k || !(k.n > 0)) return { text: '–', cls: 'num muted' };
      const pct = Math.round(k.skill * 1000) / 10 || 0; // no −0.0% from rounding noise
      return { text: `${pct.toFixed(1)}%`, cls: `num ${sign(pct)}` };
    };
    const n = (k) => ({ text: String((k && k.n) || 0), cls: 'num' });
    return preqProducts
      .filter(([p]) => (ws['1d'][p] && ws['1d'][p].n > 0) || (ws['1h'][p] && ws['1h'][p].n > 0))
      .map(([p, base]) => row([p, { text: base, cls: 'muted' }, skill(ws['1h'][p]), n(ws['1h'][p]), skill(ws['1d'][p]), n(ws['1d'][p])]));
  }

  // productScores sums up the products' live scores at the shown horizon,
  // each beside its baseline.
  function productScores(ps) {
    if (!ps) return 'products: not scored yet';
    const parts = [];
    if (ps.vol_n > 0) parts.push(`vol MAE ${bps(ps.vol_mae)} bps (last-rv ${bps(ps.vol_baseline_mae)})`);
    if (ps.band_n > 0) parts.push(`band coverage ${(ps.band_coverage * 100).toFixed(0)}% (Gaussian ${(ps.band_baseline_coverage * 100).toFixed(0)}%, want 80%)`);
    if (ps.brier_n > 0) parts.push(`Brier ${ps.brier.toFixed(4)} (0.5: ${ps.brier_baseline.toFixed(4)})`);
    return parts.length ? parts.join(' · ') : 'products: not scored yet';
  }

  // loadModels lists the versions of the shown series (GET /v1/models:
  // {"models": [{pair, horizon, champion, challenger, versions: [meta]}]}).
  async function loadModels() {
    const r = await api('/v1/models');
    if (!r.ok) return;
    const series = list(r.body, 'models');
    for (const sr of series) if (sr.champion !== null && sr.champion !== undefined && (sr.product || 'return') === 'return') learn(sr.pair, sr.horizon);
    const mine = series.find((sr) => slug(sr.pair) === state.pair && sr.horizon === state.horizon && (sr.product || 'return') === 'return');
    const versions = (mine ? list(mine.versions) : []).slice().sort((a, b) => b.version - a.version);
    const rows = versions.slice(0, 10).map((m) => {
      const mae = m.metrics && m.metrics.model_mae;
      return row([
        `v${m.version}`, m.name || '–',
        { text: m.status || '–', cls: m.status === 'champion' ? 'pos' : 'muted' },
        { text: typeof mae === 'number' ? bps(mae) : '–', cls: 'num' },
        hhmm(m.created_at),
      ], m.status === 'champion' ? 'current' : '');
    });
    fill($('models'), rows, 'no models', 5);
    renderSelectors();
  }

  const linkNames = { temporal_ui: 'Temporal UI', grafana: 'Grafana', docs: 'Docs' };
  async function loadInfo() {
    const r = await api('/v1/info');
    if (!r.ok) return;
    const nav = $('links');
    const links = [];
    const walk = (o, label) => {
      if (typeof o === 'string' && /^https?:\/\//.test(o)) {
        const a = el('a', linkNames[label] || label.replace(/_?url$/i, '').replace(/_/g, ' ') || o);
        a.href = o;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        links.push(a);
      } else if (o && typeof o === 'object' && !Array.isArray(o)) {
        for (const [k, v] of Object.entries(o)) walk(v, k);
      }
    };
    walk(r.body.links || {}, '');
    nav.replaceChildren(...links);
    for (const ch of list(r.body, 'champions')) if ((ch.product || 'return') === 'return') learn(ch.pair, ch.horizon);
    for (const p of list(r.body, 'pairs')) learn(p);
    const b = r.body;
    const version = typeof b.version === 'string' && b.version.length > 12 ? b.version.slice(0, 12) : b.version;
    $('info').textContent = [b.service, version && `version ${version}`, b.started_at && `started ${utc(b.started_at)}`,
      `${list(b, 'champions').length} champion(s)`].filter(Boolean).join(' · ');
  }

  async function loadReady() {
    const r = await api('/readyz');
    const degraded = r.ok && r.body.status === 'degraded';
    if (degraded) badge($('ready'), 'degraded', 'warn');
    else if (r.ok) badge($('ready'), 'ready', 'ok');
    else badge($('ready'), r.status === 0 ? 'offline' : 'not ready', 'bad');
    if (degraded) {
      const which = list(r.body, 'degraded').map((d) => `${d.pair} h${d.horizon} ${d.product || 'return'}: ` +
        `${d.serving_version < 0 ? 'not served' : `v${d.serving_version} serves`}, v${d.wanted_version} wanted (${d.reason})`);
      $('ready').title = `GET /readyz: degraded\n${which.join('\n')}`;
    } else {
      $('ready').title = r.ok ? 'GET /readyz: ready' : `GET /readyz: ${r.body.reason || r.body.message || r.body.error || r.status}`;
    }
  }

  // ---- selection -------------------------------------------------------------

  function learn(pair, horizon) {
    if (!pair) return;
    const p = slug(pair);
    const isNew = !state.pairs.has(p);
    state.pairs.add(p);
    if (!state.horizons.has(p)) state.horizons.set(p, new Set());
    if (horizon) state.horizons.get(p).add(horizon);
    if (isNew) renderSelectors();
  }

  function options(select, values, current, label) {
    const want = values.map(String).join(',');
    if (select.dataset.values !== want) {
      select.replaceChildren(...values.map((v) => {
        const o = el('option', label(v));
        o.value = String(v);
        return o;
      }));
      select.dataset.values = want;
    }
    select.value = String(current);
  }

  function renderSelectors() {
    const pairs = [...state.pairs].sort();
    if (state.pair && !state.pairs.has(state.pair)) pairs.unshift(state.pair);
    options($('pair'), pairs, state.pair, (p) => p);
    const hs = [...(state.horizons.get(state.pair) || [])];
    if (!hs.includes(state.horizon)) hs.push(state.horizon);
    hs.sort((a, b) => a - b);
    options($('horizon'), hs, state.horizon, (h) => `h${h}`);
  }

  function select(pair, horizon) {
    state.pair = slug(pair);
    state.horizon = horizon;
    state.seq++;
    state.prediction = null;
    state.receivedAt = 0;
    state.candles.clear();
    state.predicted.clear();
    state.realized.clear();
    state.band10.clear();
    state.band90.clear();
    state.vol.clear();
    for (const s of [chart.candles, chart.predicted, chart.realized, chart.band10, chart.band90, chart.vol]) if (s) s.setData([]);
    count();
    for (const id of ['pred-model', 'pred-asof', 'pred-target', 'pred-last', 'pred-price', 'pred-return', 'pred-band', 'pred-vol', 'pred-pup',
      'pred-age', 'pred-received', 'product-scores']) $(id).textContent = '–';
    badge($('pred-state'), '…');
    $('chart-title').textContent = `${state.pair} · candles · h${state.horizon} predictions (UTC)`;
    const u = new URL(location.href);
    u.searchParams.set('pair', state.pair);
    u.searchParams.set('horizon', String(state.horizon));
    history.replaceState(null, '', u);
    renderSelectors();
    renderAll();
    const seq = state.seq;
    // Candles first: the prediction points need the candle interval.
    loadCandles(CANDLES, seq).then(() => Promise.all([loadHistory(HISTORY, seq), loadPrediction(seq)]));
    loadScores();
    loadModels();
  }

  // ---- live updates ------------------------------------------------------------

  // After a prediction of the shown pair, the candle and realized price it
  // follows are in the API: fetch the few newest, at most once per burst.
  let followTimer = 0;
  function followUp() {
    if (followTimer) return;
    followTimer = setTimeout(() => {
      followTimer = 0;
      const seq = state.seq;
      loadCandles(5, seq);
      loadHistory(20, seq);
      loadScores();
    }, 250);
  }

  function connect() {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/v1/stream`);
    state.ws = ws;
    badge($('conn'), state.wsRetry ? 'reconnecting' : 'connecting', 'warn');
    ws.onmessage = (ev) => {
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      if (m.type === 'subscribed') {
        state.wsRetry = 0;
        state.wsLive = true;
        badge($('conn'), 'live', 'ok');
      } else if (m.type === 'prediction' && m.prediction) {
        onStreamed(m.prediction, m.published_at);
      } else if (m.type === 'error') {
        banner(`stream: ${m.error}: ${m.message || ''}`);
      }
    };
    ws.onclose = () => {
      state.wsLive = false;
      if (state.ws !== ws) return;
      state.wsRetry++;
      badge($('conn'), 'disconnected', 'bad');
      setTimeout(connect, Math.min(10000, 500 * 2 ** Math.min(state.wsRetry, 5)));
    };
  }

  function onStreamed(p) {
    state.all.set(`${slug(p.pair)}|${p.horizon}`, p);
    learn(p.pair, p.horizon);
    scheduleAll();
    if (slug(p.pair) !== state.pair) return;
    if (p.horizon === state.horizon) showPrediction(p);
    followUp();
  }

  let allTimer = 0;
  function scheduleAll() {
    if (!allTimer) allTimer = setTimeout(() => { allTimer = 0; renderAll(); }, 200);
  }

  // ---- start ---------------------------------------------------------------------

  function start() {
    initChart();
    const q = new URLSearchParams(location.search);
    $('pair').addEventListener('change', (e) => {
      const hs = [...(state.horizons.get(e.target.value) || [])].sort((a, b) => a - b);
      select(e.target.value, hs.includes(state.horizon) ? state.horizon : hs[0] || 1);
    });
    $('horizon').addEventListener('change', (e) => select(state.pair, Number(e.target.value)));
    loadReady();
    connect();
    Promise.all([loadAll(), loadModels(), loadInfo()]).then(() => {
      const first = [...state.pairs].sort()[0] || '';
      const pair = slug(q.get('pair')) || first;
      const hs = [...(state.horizons.get(pair) || [])].sort((a, b) => a - b);
      const h = Number(q.get('horizon')) || (hs.includes(1) ? 1 : hs[0] || 1);
      if (!pair) {
        banner('no pairs yet: the registry has no champion and no features have arrived');
        badge($('pred-state'), 'no pairs', 'warn');
        setTimeout(start2, REFRESH_MS);
        return;
      }
      select(pair, h);
    });
    setInterval(() => {
      if (!state.pair) return;
      const seq = state.seq;
      loadPrediction(seq);
      loadAll();
      loadScores();
      loadReady();
      if (!state.wsLive) loadCandles(5, seq);
    }, REFRESH_MS);
    setInterval(() => { loadModels(); loadInfo(); }, SLOW_REFRESH_MS);
    setInterval(tickReceived, 1000);
  }

  // start2 retries finding a pair when the service had none at page load.
  function start2() {
    Promise.all([loadAll(), loadModels(), loadInfo()]).then(() => {
      const first = [...state.pairs].sort()[0];
      if (first) {
        banner('');
        const hs = [...(state.horizons.get(first) || [])].sort((a, b) => a - b);
        select(first, hs.includes(1) ? 1 : hs[0] || 1);
      } else setTimeout(start2, REFRESH_MS);
    });
  }

  window.tickcast = { state }; // for the browser test and the console
  start();
})();
