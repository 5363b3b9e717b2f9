// @ts-check
// report.html: the same map, panel and charts as the live view, fed by the finished run's data
// (inlined in the page; no server, no network). window.MT.report holds that data.
(function () {
  const MT = (window.MT = window.MT || /** @type {MTGlobal} */ ({}));
  const F = MT.fmt;
  /** @param {string} id @returns {HTMLElement} */
  const $ = (id) => {
    const e = document.getElementById(id);
    if (e === null) throw new Error(`report.html: no #${id}`);
    return e;
  };
  /** @type {ReportData} */
  const data = JSON.parse($('meshtwin-data').textContent || 'null');
  const land = JSON.parse($('meshtwin-land').textContent || 'null');
  MT.report = data;
  const topo = data.topology;
  const snap = data.snapshot;
  const panel = new MT.Panel($('panel'), {});
  panel.render(null, null);
  const map = new MT.MapView($('map'), topo, land, { onSelect: (/** @type {ViewSelection} */ sel) => panel.show(sel, topo, snap) });
  map.update(snap);
  const s = data.summary;
  // A live run's time axis is wall-clock seconds since t0, not simulated time.
  const charts = new MT.Charts($('chart-wan'), $('chart-lat'), topo, s.live === null ? {} : { xLabel: 's since t0 (wall clock)' });
  charts.setHistory(data.series);
  // One marker per fault; the time axis reaches back to the earliest.
  charts.setMarkers(data.faults);
  $('scenario').textContent = `${topo.scenario} · seed ${topo.seed} · ${topo.brokers.length} brokers · ${topo.links.length} links`;
  if (s.live === null) {
    $('clock').textContent = `${s.simulatedSeconds} s simulated`;
    $('rate').textContent =
      `run took ${s.wallSeconds.toFixed(1)} s wall (${F.speed(s.speedup)} real time${s.threads > 1 ? ` on ${s.threads} threads` : ''}) · link widths and colors: average over the run`;
  } else {
    $('clock').textContent = `${s.simulatedSeconds} s live`;
    $('rate').textContent = `measured on ${s.live} (run took ${s.wallSeconds.toFixed(1)} s wall with start-up) · link widths and colors: average over the run`;
  }
  $('totals').innerHTML =
    `published <b>${F.int(s.published)}</b> · delivered <b>${F.int(s.delivered)}</b> to subscribers · dropped <b>${F.int(s.dropped)}</b><br>` +
    `WAN avg <b>${F.mbps(s.wanMbpsAvg)}</b> · peak (1 s) <b>${F.mbps(s.wanMbpsPeak)}</b><br>` +
    `latency p99: local <b>${F.ms(s.localP99)}</b> · cross-region <b>${F.ms(s.crossP99)}</b>`;
})();
