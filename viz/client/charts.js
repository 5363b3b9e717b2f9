// @ts-check
// Live time series: WAN Mbps per link direction, and latency p50/p99, local vs cross-region;
// for a live run also events published and delivered per second. x is simulated seconds (a live
// run's: wall seconds since t0). window.MT.Charts.
(function () {
  const MT = (window.MT = window.MT || /** @type {MTGlobal} */ ({}));
  const W = 470;
  const H = 210;
  const M = { top: 12, right: 12, bottom: 26, left: 52 };
  const MAX_POINTS = 2000;

  /**
   * @typedef {ReturnType<typeof frame>} Frame
   * @typedef {{ index: number, name: string, color: string, dash: string | null }} WanSeries
   * @typedef {{ key: 'local' | 'cross', p: 'p50' | 'p99', name: string, color: string, dash: string | null }} LatSeries
   * @typedef {{ key: 'published' | 'delivered', name: string, color: string, dash: string | null }} RateSeries
   */

  /** @param {HTMLElement} el @param {string} title @param {string} xLabel */
  function frame(el, title, xLabel) {
    const box = d3.select(el);
    box.selectAll('*').remove();
    box.append('h3').text(title);
    const svg = box.append('svg').attr('viewBox', `0 0 ${W} ${H}`).attr('preserveAspectRatio', 'xMidYMid meet');
    const g = svg.append('g').attr('transform', `translate(${M.left},${M.top})`);
    const xAxis = g
      .append('g')
      .attr('class', 'axis x')
      .attr('transform', `translate(0,${H - M.top - M.bottom})`);
    const yAxis = g.append('g').attr('class', 'axis y');
    g.append('text')
      .attr('class', 'axis-label')
      .attr('x', W - M.left - M.right)
      .attr('y', H - M.top - 2)
      .attr('text-anchor', 'end')
      .text(xLabel);
    const markers = g.append('g').attr('class', 'markers');
    const lines = g.append('g').attr('class', 'lines');
    const legend = box.append('div').attr('class', 'legend');
    return { svg, g, xAxis, yAxis, markers, lines, legend, iw: W - M.left - M.right, ih: H - M.top - M.bottom };
  }

  /**
   * One hue per WAN link (Tableau 20's ten pairs, then golden-angle hues), its a → b direction
   * in the strong shade with a solid line and b → a in the light shade, dashed: every direction
   * its own look however many links there are.
   */
  const PAIRS = [
    ['#4e79a7', '#a0cbe8'],
    ['#f28e2b', '#ffbe7d'],
    ['#59a14f', '#8cd17d'],
    ['#e15759', '#ff9d9a'],
    ['#b07aa1', '#d4a6c8'],
    ['#499894', '#86bcb6'],
    ['#b6992d', '#f1ce63'],
    ['#d37295', '#fabfd2'],
    ['#9d7660', '#d7b5a6'],
    ['#79706e', '#bab0ac'],
  ];
  /** @param {number} k @returns {string[]} */
  function pairOf(k) {
    const pair = PAIRS[k];
    if (pair !== undefined) return pair;
    const h = (k * 137.508) % 360;
    return [String(d3.hsl(h, 0.55, 0.5).formatHex()), String(d3.hsl(h, 0.7, 0.78).formatHex())];
  }
  /** @param {Topology} topology @returns {WanSeries[]} */
  function wanColors(topology) {
    /** @type {WanSeries[]} */
    const out = [];
    topology.links
      .filter((l) => l.wan)
      .forEach((l, k) => {
        const [strong, light] = pairOf(k);
        l.dirs.forEach((index, j) => {
          const d = topology.directions[index];
          if (d === undefined) throw new Error(`link ${l.a} – ${l.b}: no direction ${index}`);
          out.push({ index, name: `${d.from} → ${d.to}`, color: (j === 0 ? strong : light) || '#888', dash: j === 0 ? null : '5 3' });
        });
      });
    return out;
  }

  /**
   * @constructor
   * @param {HTMLElement} wanEl
   * @param {HTMLElement} latEl
   * @param {Topology} topology
   * @param {MTChartsOptions} [opts]
   */
  function Charts(wanEl, latEl, topology, opts) {
    const o = opts || {};
    const xLabel = o.xLabel || 'simulated s';
    /** @type {SeriesPoint[]} */
    this.points = [];
    this.wanDirs = wanColors(topology);
    this.wan = frame(wanEl, 'WAN Mbps per link direction', xLabel);
    this.lat = frame(latEl, 'Latency, publish → subscriber (ms, log scale)', xLabel);
    if (o.latencyNote) d3.select(latEl).append('p').attr('class', 'note dim chart-note').text(o.latencyNote);
    /** @type {RateSeries[]} */
    this.rateSeries = [
      { key: 'published', name: 'published/s', color: '#58a6ff', dash: null },
      { key: 'delivered', name: 'delivered/s (subscriber connections)', color: '#3fb950', dash: '5 3' },
    ];
    this.ev = o.eventsEl ? frame(o.eventsEl, 'Events per second', xLabel) : null;
    this.evLegend = this.ev
      ? this.ev.legend
          .selectAll('span')
          .data(this.rateSeries)
          .join('span')
          .attr('class', 'key')
          .html((d) => `<i class="${d.dash ? 'dash' : ''}" style="${d.dash ? `border-color:${d.color}` : `background:${d.color}`}"></i>${d.name} <b></b>`)
      : null;
    /** @type {LatSeries[]} */
    this.latSeries = [
      { key: 'local', p: 'p50', name: 'local p50', color: '#3fb950', dash: null },
      { key: 'local', p: 'p99', name: 'local p99', color: '#3fb950', dash: '5 3' },
      { key: 'cross', p: 'p50', name: 'cross-region p50', color: '#f0883e', dash: null },
      { key: 'cross', p: 'p99', name: 'cross-region p99', color: '#f0883e', dash: '5 3' },
    ];
    this.wanLegend = this.wan.legend.selectAll('span').data(this.wanDirs).join('span').attr('class', 'key');
    this.wanLegend.html((d) => `<i class="${d.dash ? 'dash' : ''}" style="${d.dash ? `border-color:${d.color}` : `background:${d.color}`}"></i>${d.name} <b></b>`);
    this.latLegend = this.lat.legend.selectAll('span').data(this.latSeries).join('span').attr('class', 'key');
    this.latLegend.html((d) => `<i class="${d.dash ? 'dash' : ''}" style="${d.dash ? `border-color:${d.color}` : `background:${d.color}`}"></i>${d.name} <b></b>`);
    /** @type {Marker[]} */
    this.markers = [];
    this.dirty = true;
  }

  /** Vertical markers (faults): [{ n, t (simulated s), label }], drawn on both charts. */
  /** @param {readonly Marker[]} markers */
  Charts.prototype.setMarkers = function (markers) {
    this.markers = markers.slice();
    this.dirty = true;
    this.draw();
  };

  /**
   * @param {Frame} c
   * @param {(t: number) => number} x
   * @param {Marker[]} markers
   * @param {number} t0
   * @param {number} t1
   */
  function drawMarkers(c, x, markers, t0, t1) {
    const shown = markers.filter((m) => m.t >= t0 - 1e-9 && m.t <= t1 + 1e-9);
    const g = c.markers
      .selectAll('g.marker')
      .data(shown)
      .join((enter) => {
        const e = enter.append('g').attr('class', 'marker');
        e.append('line');
        e.append('text');
        e.append('title');
        return e;
      });
    g.attr('data-fault', (m) => m.n).attr('transform', (m) => `translate(${x(m.t).toFixed(1)},0)`);
    g.select('line').attr('y1', 0).attr('y2', c.ih);
    g.select('text')
      .attr('y', -2)
      .attr('text-anchor', 'middle')
      .text((m) => m.n);
    g.select('title').text((m) => `fault ${m.n} at ${m.t.toFixed(3)} s: ${m.label}`);
  }

  /**
   * One path per series in a chart's lines group, drawn in the series' color and dash.
   * @template {{ color: string, dash: string | null }} S
   * @param {Frame} c
   * @param {readonly S[]} series
   * @param {string} attr the data attribute naming each path (e.g. data-dir)
   * @param {(s: S) => string} nameOf
   * @param {(s: S) => string | null} pathOf
   */
  function drawLines(c, series, attr, nameOf, pathOf) {
    c.lines
      .selectAll('path')
      .data(series)
      .join('path')
      .attr('fill', 'none')
      .attr('stroke', (s) => s.color)
      .attr('stroke-width', 1.6)
      .attr('stroke-dasharray', (s) => s.dash)
      .attr(attr, nameOf)
      .attr('d', pathOf);
  }

  /** @param {readonly SeriesPoint[]} points */
  Charts.prototype.setHistory = function (points) {
    this.points = points.slice();
    this.dirty = true;
    this.draw();
  };

  /** @param {SeriesPoint} p */
  Charts.prototype.add = function (p) {
    const last = this.points[this.points.length - 1];
    if (last && last.t === p.t) this.points[this.points.length - 1] = p;
    else this.points.push(p);
    if (this.points.length > MAX_POINTS) this.points = this.points.filter((_, i) => i % 2 === 1);
    this.dirty = true;
  };

  Charts.prototype.draw = function () {
    if (!this.dirty) return;
    this.dirty = false;
    const pts = this.points;
    // The axis reaches back to the earliest marker (a fault before the first point).
    const t0 = Math.min(pts.length ? pts[0].t : 0, ...this.markers.map((m) => m.t));
    const t1 = pts.length ? Math.max(pts[pts.length - 1].t, t0 + 1) : 1;
    // WAN Mbps.
    {
      const c = this.wan;
      const x = d3.scaleLinear().domain([t0, t1]).range([0, c.iw]);
      const ymax = d3.max(pts, (p) => d3.max(this.wanDirs, (d) => p.mbps[d.index])) || 1;
      const y = d3
        .scaleLinear()
        .domain([0, ymax * 1.1])
        .nice()
        .range([c.ih, 0]);
      c.xAxis.call(d3.axisBottom(x).ticks(6));
      c.yAxis.call(
        d3
          .axisLeft(y)
          .ticks(5)
          .tickFormat((v) => MT.fmt.mbps(v).replace(' Mbps', '').replace(' Gbps', 'G').replace(' kbps', 'k')),
      );
      drawLines(
        c,
        this.wanDirs,
        'data-dir',
        (d) => d.name,
        (d) =>
          d3
            .line()
            .x((p) => x(p.t))
            .y((p) => y(p.mbps[d.index]))(pts),
      );
      drawMarkers(c, x, this.markers, t0, t1);
      const lastP = pts[pts.length - 1];
      this.wanLegend.select('b').text((d) => (lastP ? MT.fmt.mbps(lastP.mbps[d.index]) : ''));
    }
    // Latency.
    {
      const c = this.lat;
      const x = d3.scaleLinear().domain([t0, t1]).range([0, c.iw]);
      /** @param {SeriesPoint} p @param {LatSeries} s @returns {number} 0 when there is none */
      const valueAt = (p, s) => p[s.key]?.[s.p] ?? 0;
      /** @type {number[]} */
      const vals = [];
      for (const p of pts) for (const s of this.latSeries) if (valueAt(p, s) > 0) vals.push(valueAt(p, s));
      const lo = vals.length ? Math.max(0.01, Math.min(...vals) / 1.5) : 0.1;
      const hi = vals.length ? Math.max(...vals) * 1.5 : 100;
      const y = d3.scaleLog().domain([lo, hi]).range([c.ih, 0]);
      c.xAxis.call(d3.axisBottom(x).ticks(6));
      c.yAxis.call(d3.axisLeft(y).ticks(5, '~g'));
      drawMarkers(c, x, this.markers, t0, t1);
      drawLines(
        c,
        this.latSeries,
        'data-series',
        (s) => s.name,
        (s) =>
          d3
            .line()
            .defined((p) => valueAt(p, s) > 0)
            .x((p) => x(p.t))
            .y((p) => y(valueAt(p, s)))(pts),
      );
      /** @type {Map<string, number>} */
      const lastWith = new Map();
      for (const p of pts) for (const s of this.latSeries) if (valueAt(p, s) > 0) lastWith.set(s.name, valueAt(p, s));
      this.latLegend.select('b').text((s) => (lastWith.has(s.name) ? MT.fmt.ms(lastWith.get(s.name)) : ''));
    }
    // Events per second (a live run's points carry them).
    if (this.ev && this.evLegend) {
      const c = this.ev;
      const x = d3.scaleLinear().domain([t0, t1]).range([0, c.iw]);
      /** @param {SeriesPoint} p @param {RateSeries} s @returns {number | undefined} */
      const valueAt = (p, s) => (p.rates ? p.rates[s.key] : undefined);
      const withRates = pts.filter((p) => p.rates);
      const ymax = d3.max(withRates, (p) => d3.max(this.rateSeries, (s) => valueAt(p, s))) || 1;
      const y = d3
        .scaleLinear()
        .domain([0, ymax * 1.1])
        .nice()
        .range([c.ih, 0]);
      c.xAxis.call(d3.axisBottom(x).ticks(6));
      c.yAxis.call(d3.axisLeft(y).ticks(5, '~s'));
      drawMarkers(c, x, this.markers, t0, t1);
      drawLines(
        c,
        this.rateSeries,
        'data-series',
        (s) => s.key,
        (s) =>
          d3
            .line()
            .x((p) => x(p.t))
            .y((p) => y(valueAt(p, s) || 0))(withRates),
      );
      const lastP = withRates[withRates.length - 1];
      this.evLegend.select('b').text((s) => (lastP ? `${MT.fmt.int(valueAt(lastP, s))}/s` : ''));
    }
  };

  MT.Charts = Charts;
})();
