// @ts-check
// sweep.html's charts (reports/sweep-html.ts): each figure against the swept parameter, one point
// per step, the breaking point as a vertical rule with its label. A grid (two --vary) draws one
// line per value of the first parameter against the second, each row's breaking point in its
// color. Figures are the summary.json names of sim/sweep/figures.ts.
(function () {
  const el = document.getElementById('sweep-data');
  if (el === null || el.textContent === null) throw new Error('sweep.html: no #sweep-data');
  /** @type {SweepData} */
  const data = JSON.parse(el.textContent);
  const fmt = window.MT.fmt;
  const W = 560;
  const H = 260;
  const M = { top: 26, right: 18, bottom: 38, left: 64 };
  const iw = W - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const grid = data.axes.length === 2;
  const xAxisInfo = data.axes[data.axes.length - 1];
  const xi = data.axes.length - 1;
  const FAIL = '#f85149';
  const PALETTE = ['#58a6ff', '#3fb950', '#f0883e', '#d2a8ff', '#e3b341', '#56d4dd', '#ff7b72', '#a5d6ff', '#7ee787', '#ffa657'];

  /**
   * @typedef {{ x: number, y: number | null, fail: boolean, index: number }} Pt
   * @typedef {{ name: string, color: string, dash: string | null, points: Pt[], knee: Pt | null }} Series
   * @typedef {{ title: string, y: (v: number) => string, log?: boolean, integer?: boolean, series: Series[], threshold?: number | null, note?: string }} ChartSpec
   */

  /** A value of the swept parameter, short: "1.2M/s", "464 Mbps", "1.50 KB", "20 s". @param {string} kind @param {number} v */
  function short(kind, v) {
    if (kind === 'rate') return `${d3.format('~s')(v)}/s`;
    if (kind === 'bandwidth') return fmt.bps(v);
    if (kind === 'size') return fmt.bytes(v);
    if (kind === 'duration') return v >= 1000 ? `${d3.format('~g')(v / 1000)} s` : `${d3.format('~g')(v)} ms`;
    return String(d3.format('~s')(v));
  }

  /** The figure's value at a step (null: no data). @param {SweepData['steps'][number]} s @param {string} key */
  const fig = (s, key) => {
    const v = s.figures[key];
    return v === undefined ? null : v;
  };

  /**
   * 1-D: one series per figure. @param {string} key @param {string} name @param {string} color @param {string | null} [dash]
   * @returns {Series}
   */
  function line(key, name, color, dash) {
    const points = data.steps.map((s) => ({ x: s.values[xi], y: fig(s, key), fail: !s.pass, index: s.index }));
    return { name, color, dash: dash || null, points, knee: null };
  }

  /** Grid: one series per value of the first parameter. @param {string} key @returns {Series[]} */
  function rows(key) {
    const inner = xAxisInfo.values.length;
    const outer = data.axes[0];
    return outer.values.map((_, i) => {
      const steps = data.steps.filter((s) => Math.floor(s.index / inner) === i);
      const points = steps.map((s) => ({ x: s.values[xi], y: fig(s, key), fail: !s.pass, index: s.index }));
      const row = data.frontier === null ? null : data.frontier[i];
      const knee = row && row.breakingIndex !== null ? points.find((p) => p.index === row.breakingIndex) || null : null;
      return { name: `${outer.path} = ${outer.labels[i]}`, color: PALETTE[i % PALETTE.length], dash: null, points, knee };
    });
  }

  /** @param {HTMLElement} root @param {ChartSpec} spec */
  function draw(root, spec) {
    const box = d3.select(root).append('div').attr('class', 'chart');
    box.append('h3').text(spec.title);
    const svg = box.append('svg').attr('viewBox', `0 0 ${W} ${H}`).attr('preserveAspectRatio', 'xMidYMid meet');
    const g = svg.append('g').attr('transform', `translate(${M.left},${M.top})`);
    const xs = xAxisInfo.values;
    const x = (data.scale === 'log' ? d3.scaleLog() : d3.scaleLinear()).domain([d3.min(xs) || 0, d3.max(xs) || 1]).range([0, iw]);
    const ys = spec.series.flatMap((s) => s.points.map((p) => p.y)).filter((v) => v !== null);
    const yMax = Math.max(d3.max(ys, (v) => v) || 0, spec.threshold || 0);
    const yMin = d3.min(ys, (v) => v) || 0;
    const log = spec.log === true && yMin > 0 && yMax / yMin > 20;
    const y = log
      ? d3
          .scaleLog()
          .domain([yMin / 1.3, yMax * 1.3])
          .range([ih, 0])
      : d3
          .scaleLinear()
          .domain([0, yMax > 0 ? yMax * 1.08 : 1])
          .range([ih, 0]);
    const xTicks = data.scale === 'log' ? x.ticks(6) : x.ticks(7);
    g.append('g')
      .attr('class', 'axis x')
      .attr('transform', `translate(0,${ih})`)
      .call(
        d3
          .axisBottom(x)
          .tickValues(xTicks)
          .tickFormat((/** @type {number} */ v) => short(xAxisInfo.kind, v)),
      );
    // Counts get whole ticks only (no "0, 0, 1, 1" on a chart of zeros).
    // A log axis labels 1, 2 and 5 of each decade (fewer when they crowd), not every integer multiple.
    const oneTwoFive = (/** @type {number} */ v) => [1, 2, 5].includes(Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9)));
    let yTicks = y.ticks(log ? 10 : 5).filter((/** @type {number} */ v) => (log ? oneTwoFive(v) : spec.integer !== true || Number.isInteger(v)));
    if (log && yTicks.length > 7) yTicks = yTicks.filter((/** @type {number} */ v) => Math.round(v / 10 ** Math.floor(Math.log10(v) + 1e-9)) !== 2);
    g.append('g')
      .attr('class', 'axis y')
      .call(
        d3
          .axisLeft(y)
          .tickValues(yTicks)
          .tickFormat((/** @type {number} */ v) => spec.y(v)),
      );
    g.append('text')
      .attr('class', 'axis-label')
      .attr('x', iw)
      .attr('y', ih + 32)
      .attr('text-anchor', 'end')
      .text(`${xAxisInfo.path}${data.scale === 'log' ? ' (log scale)' : ''}`);
    if (typeof spec.threshold === 'number') {
      g.append('line').attr('class', 'threshold').attr('x1', 0).attr('x2', iw).attr('y1', y(spec.threshold)).attr('y2', y(spec.threshold));
      g.append('text')
        .attr('class', 'threshold-label')
        .attr('x', 4)
        .attr('y', y(spec.threshold) - 4)
        .text(`limit ${spec.y(spec.threshold)}`);
    }
    const path = d3
      .line()
      .defined((/** @type {Pt} */ p) => p.y !== null)
      .x((/** @type {Pt} */ p) => x(p.x))
      .y((/** @type {Pt} */ p) => y(/** @type {number} */ (p.y)));
    for (const s of spec.series) {
      g.append('path').attr('class', 'series').attr('fill', 'none').attr('stroke', s.color).attr('stroke-width', 1.8).attr('stroke-dasharray', s.dash).attr('d', path(s.points));
      g.append('g')
        .selectAll('circle')
        .data(s.points.filter((p) => p.y !== null))
        .join('circle')
        .attr('class', (/** @type {Pt} */ p) => (p.fail ? 'pt fail' : 'pt'))
        .attr('cx', (/** @type {Pt} */ p) => x(p.x))
        .attr('cy', (/** @type {Pt} */ p) => y(/** @type {number} */ (p.y)))
        .attr('r', 3)
        .attr('fill', (/** @type {Pt} */ p) => (p.fail ? FAIL : s.color))
        .append('title')
        .text((/** @type {Pt} */ p) => `${s.name} at ${short(xAxisInfo.kind, p.x)}: ${spec.y(/** @type {number} */ (p.y))}`);
    }
    // The knee: a vertical rule and its label (a grid: each row's own, in the row's color).
    const b = data.breaking;
    const at = b === null ? undefined : data.steps.find((st) => st.index === b.index);
    if (!grid && b !== null && at !== undefined) {
      const kx = x(at.values[xi]);
      const right = kx > iw * 0.6;
      g.append('line').attr('class', 'knee').attr('x1', kx).attr('x2', kx).attr('y1', -8).attr('y2', ih).attr('stroke', FAIL);
      g.append('text')
        .attr('class', 'knee-label')
        .attr('x', right ? kx - 5 : kx + 5)
        .attr('y', -12)
        .attr('text-anchor', right ? 'end' : 'start')
        .attr('fill', FAIL)
        .text(`breaking point: step ${b.step} of ${data.totalSteps}, ${short(xAxisInfo.kind, at.values[xi])}`);
    }
    if (grid) {
      for (const s of spec.series) {
        if (s.knee === null) continue;
        const kx = x(s.knee.x);
        g.append('line').attr('class', 'knee').attr('x1', kx).attr('x2', kx).attr('y1', 0).attr('y2', ih).attr('stroke', s.color);
      }
    }
    const legend = box.append('div').attr('class', 'legend');
    for (const s of spec.series) {
      const key = legend.append('span').attr('class', 'key');
      key
        .append('i')
        .attr('class', s.dash ? 'dash' : '')
        .attr('style', s.dash ? `border-color:${s.color}` : `background:${s.color}`);
      const noData = s.points.every((p) => p.y === null) ? ' (no data)' : '';
      key.append('span').text(grid && s.knee !== null ? `${s.name} (breaks at ${short(xAxisInfo.kind, s.knee.x)})` : `${s.name}${noData}`);
    }
    const note = ys.length === 0 ? 'No data at any step (nothing was delivered in this class).' : spec.note;
    if (note) box.append('p').attr('class', 'note dim').text(note);
  }

  const root = /** @type {HTMLElement} */ (document.getElementById('charts'));
  const pct = (/** @type {number} */ v) => `${d3.format('~r')(Number((v * 100).toPrecision(3)))}%`;
  const any = (/** @type {string} */ key) => data.steps.some((s) => (fig(s, key) || 0) > 0);
  if (!grid) {
    const drawn = data.links.filter((k) => data.steps.some((s) => (fig(s, `links[${k}].utilizationPeak`) || 0) >= 0.001));
    const idle = data.links.length - drawn.length;
    draw(root, {
      title: 'Link utilization, busiest 1 s window',
      y: pct,
      threshold: data.utilizationLimit,
      series: drawn.map((k, i) => line(`links[${k}].utilizationPeak`, k.replace('>', ' → '), PALETTE[i % PALETTE.length])),
      note: idle > 0 ? `${idle} link direction${idle === 1 ? '' : 's'} under 0.1% at every step (control traffic only) not drawn.` : undefined,
    });
    draw(root, { title: 'WAN Mbps (all WAN links)', y: fmt.mbps, series: [line('wan.mbpsAvg', 'average', '#58a6ff'), line('wan.mbpsPeak', 'busiest 1 s', '#58a6ff', '5 3')] });
    draw(root, {
      title: 'Latency, publish → subscriber',
      y: fmt.ms,
      log: true,
      series: [
        line('latencyMs.local.p50', 'local p50', '#3fb950'),
        line('latencyMs.local.p99', 'local p99', '#3fb950', '5 3'),
        line('latencyMs.crossRegion.p50', 'cross-region p50', '#f0883e'),
        line('latencyMs.crossRegion.p99', 'cross-region p99', '#f0883e', '5 3'),
      ],
    });
    const causes = Object.keys(data.steps[0] ? data.steps[0].figures : {}).filter((k) => k.startsWith('drops.') && k !== 'drops.lossRetried' && any(k));
    draw(root, {
      title: 'Deliveries dropped, by cause',
      y: fmt.int,
      integer: true,
      series: [line('messages.dropped', 'all causes', FAIL), ...causes.map((k, i) => line(k, k.slice('drops.'.length), PALETTE[(i + 2) % PALETTE.length], '4 3'))],
      note: any('messages.dropped') ? undefined : 'No delivery dropped at any step.',
    });
    draw(root, {
      title: 'Broker memory (largest broker)',
      y: fmt.bytes,
      integer: true,
      series: [line('max brokers[].routingTableBytes', 'routing table (counted)', '#d2a8ff'), line('max brokers[].spoolPeakBytes', 'spool peak', '#e3b341', '5 3')],
    });
  } else {
    draw(root, { title: 'Busiest link utilization, 1 s window', y: pct, threshold: data.utilizationLimit, series: rows('max links[].utilizationPeak') });
    draw(root, { title: 'WAN Mbps (average)', y: fmt.mbps, series: rows('wan.mbpsAvg') });
    draw(root, { title: 'Local latency p99', y: fmt.ms, log: true, series: rows('latencyMs.local.p99') });
    draw(root, { title: 'Cross-region latency p99', y: fmt.ms, log: true, series: rows('latencyMs.crossRegion.p99') });
    draw(root, { title: 'Deliveries dropped', y: fmt.int, integer: true, series: rows('messages.dropped') });
    draw(root, { title: 'Spool peak (largest broker)', y: fmt.bytes, integer: true, series: rows('max brokers[].spoolPeakBytes') });
  }
})();
