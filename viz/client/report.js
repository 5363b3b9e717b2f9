// report.html: the same map, panel and charts as the live view, fed by the finished run's data
// (inlined in the page; no server, no network). window.MT.report holds that data.
(function () {
  const MT = (window.MT = window.MT || {});
  const F = MT.fmt;
  const data = JSON.parse(document.getElementById('meshtwin-data').textContent);
  const land = JSON.parse(document.getElementById('meshtwin-land').textContent);
  MT.report = data;
  const topo = data.topology;
  const snap = data.snapshot;
  const panel = new MT.Panel(document.getElementById('panel'), {});
  panel.render(null, null);
  const map = new MT.MapView(document.getElementById('map'), topo, land, { onSelect: (sel) => panel.show(sel, topo, snap) });
  map.update(snap);
  const charts = new MT.Charts(document.getElementById('chart-wan'), document.getElementById('chart-lat'), topo);
  charts.setHistory(data.series);
  // The series' first point is at the end of second 1: faults before it sit at the left edge.
  charts.setMarkers(data.faults);
  const s = data.summary;
  document.getElementById('scenario').textContent = `${topo.scenario} · seed ${topo.seed} · ${topo.brokers.length} brokers · ${topo.links.length} links`;
  document.getElementById('clock').textContent = `${s.simulatedSeconds} s simulated`;
  document.getElementById('rate').textContent = `run took ${s.wallSeconds.toFixed(1)} s wall (${F.speed(s.speedup)} real time) · link widths and colors: average over the run`;
  document.getElementById('totals').innerHTML =
    `published <b>${F.int(s.published)}</b> · delivered <b>${F.int(s.delivered)}</b> to subscribers · dropped <b>${F.int(s.dropped)}</b><br>` +
    `WAN avg <b>${F.mbps(s.wanMbpsAvg)}</b> · peak (1 s) <b>${F.mbps(s.wanMbpsPeak)}</b><br>` +
    `latency p99: local <b>${F.ms(s.localP99)}</b> · cross-region <b>${F.ms(s.crossP99)}</b>`;
})();
