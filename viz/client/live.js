// @ts-check
// The live page: one socket.io connection, snapshots in (at most 10 a second), controls out.
// The run is a simulation (`meshtwin viz`) or a live mesh of broker processes (`meshtwin live
// --viz`: snapshot.live is set, and pause, speed and restart are hidden). When the server says
// the run is finished the page keeps the last state and stops reconnecting.
// window.MT.live exposes the last topology and snapshot (the end-to-end tests read them).
(function () {
  const MT = (window.MT = window.MT || /** @type {MTGlobal} */ ({}));
  const F = MT.fmt;
  /** @param {string} id @returns {HTMLElement} */
  const $ = (id) => {
    const e = document.getElementById(id);
    if (e === null) throw new Error(`the page has no #${id}`);
    return e;
  };
  /** @param {string} id @returns {HTMLInputElement} */
  const input = (id) => /** @type {HTMLInputElement} */ ($(id));
  const socket = io({ transports: ['websocket', 'polling'] });
  const land = fetch('/vendor/land-110m.json')
    .then((r) => r.json())
    .catch(() => null);
  /** @type {MTGlobal['live']} */
  const state = (MT.live = { topology: null, snapshot: null, snapshots: 0, connected: false, finished: null });
  /** @type {MTMapView | null} */
  let map = null;
  /** @type {MTCharts | null} */
  let charts = null;
  /** @type {ViewSelection} */
  let selection = null;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let bannerTimer;
  const panel = new MT.Panel($('panel'), { onFault: (action, target) => send('fault', { action, target }) });
  panel.render(null, null);

  /** @param {string} text @param {number} [ms] how long it shows (default: until replaced) */
  function banner(text, ms) {
    const b = $('banner');
    b.textContent = text;
    b.hidden = !text;
    clearTimeout(bannerTimer);
    if (text && ms) bannerTimer = setTimeout(() => (b.hidden = true), ms);
  }

  /** @param {'pause' | 'resume' | 'speed' | 'fault' | 'restart'} event @param {unknown} [arg] */
  function send(event, arg) {
    /** @param {AckReply} reply */
    const ack = (reply) => {
      if (reply && !reply.ok) banner(reply.error, 5000);
    };
    if (arg === undefined) socket.emit(event, ack);
    else socket.emit(event, arg, ack);
  }

  /** @type {Marker[]} */
  let markers = [];
  /** @param {readonly ViewEvent[]} events */
  function addMarkers(events) {
    const faults = events.filter((e) => e.type === 'fault' && e.at >= 0);
    if (faults.length === 0 || !charts) return;
    for (const e of faults) markers.push({ n: markers.length + 1, t: e.at / 1000, label: e.text });
    charts.setMarkers(markers);
  }

  /** @param {number | null} at @param {string} type @param {string} text */
  function log(at, type, text) {
    const ol = $('log');
    const li = document.createElement('li');
    li.className = type;
    li.innerHTML = `<span class="at">${at === null ? '' : F.simTime(at)}</span>`;
    li.appendChild(document.createTextNode(text));
    ol.prepend(li);
    while (ol.children.length > 300) ol.lastChild?.remove();
  }

  socket.on('connect', () => {
    state.connected = true;
    banner('');
  });
  socket.on('disconnect', () => {
    state.connected = false;
    if (state.finished !== null) {
      // The command has exited with its run: nothing will come back.
      socket.io.reconnection(false);
      banner(`${state.finished} · the meshtwin command has exited; this page keeps the run's last state`);
    } else banner('disconnected from the meshtwin server; retrying…');
  });
  socket.on('building', (/** @type {{ text: string }} */ m) => banner(m.text));
  socket.on('finished', (/** @type {{ text: string }} */ m) => {
    state.finished = m.text;
    banner(m.text);
    const badge = $('badge');
    if (!badge.hidden) {
      badge.textContent = 'live run finished';
      badge.classList.add('finished');
    }
  });
  socket.on('notice', (/** @type {{ text: string, at: number }} */ m) => log(m.at, 'notice', m.text));
  // The server's answer to a message sent without an acknowledgement that it refused.
  socket.on('control-error', (/** @type {{ event: string, error: string }} */ m) => banner(m.error, 5000));

  socket.on('hello', async (/** @type {Hello} */ h) => {
    banner('');
    const topo = h.topology;
    state.topology = topo;
    const live = h.snapshot.live;
    $('sim-controls').hidden = live !== null;
    $('chart-events').hidden = live === null;
    $('charts').classList.toggle('live', live !== null);
    panel.setLive(live !== null);
    if (map) map.stop();
    map = new MT.MapView($('map'), topo, await land, {
      onSelect: (sel) => {
        selection = sel;
        panel.show(sel, state.topology, state.snapshot);
      },
    });
    const c = new MT.Charts($('chart-wan'), $('chart-lat'), topo, live === null ? {} : { eventsEl: $('chart-events'), xLabel: 's since t0 (wall clock)', latencyNote: live.latencyNote });
    c.setHistory(h.history);
    charts = c;
    $('log').innerHTML = '';
    for (const e of h.events) log(e.at, e.type, e.text);
    // A marker on both charts at each fault of the run (those still in the server's event list).
    markers = [];
    addMarkers(h.events);
    $('scenario').textContent = `${topo.scenario} · ${topo.brokers.length} brokers · ${topo.links.length} links`;
    badge(h.snapshot);
    input('seed').value = String(h.snapshot.run.seed);
    selection = null;
    panel.show(null, topo, h.snapshot);
    apply({ ...h.snapshot, events: [], eventsOmitted: 0 }, false);
  });

  socket.on('snapshot', (/** @type {LiveSnapshot} */ s) => apply(s, true));

  /** @param {LiveSnapshot} s @param {boolean} point whether it adds a point to the charts */
  function apply(s, point) {
    if (!map || !charts) return;
    state.snapshot = s;
    state.snapshots++;
    map.update(s);
    if (point && s.phase !== 'warmup') {
      const p = { t: s.t / 1000, mbps: s.directions.map((d) => d.mbps), local: s.latency ? s.latency.local : null, cross: s.latency ? s.latency.cross : null };
      charts.add(s.live ? { ...p, rates: { published: s.live.publishedPerSecond, delivered: s.live.deliveredPerSecond } } : p);
    }
    charts.draw();
    if (selection) panel.render(state.topology, s);
    for (const e of s.events) log(e.at, e.type, e.text);
    addMarkers(s.events);
    if (s.eventsOmitted > 0) log(s.t, 'dim', `… ${s.eventsOmitted} more control-plane events`);
    status(s);
  }

  /** The "live" badge of a live run (hidden for a simulation). @param {LiveSnapshot} s */
  function badge(s) {
    const b = $('badge');
    b.hidden = s.live === null;
    if (s.live === null) return;
    b.classList.toggle('finished', s.live.finished);
    b.textContent = s.live.finished ? 'live run finished' : `live: ${s.live.processes} broker process${s.live.processes === 1 ? '' : 'es'} on loopback`;
    b.title = `${s.live.running} of ${s.live.processes} running · figures from the brokers' /metrics, /v1/topology and /v1/routes, scraped about once a second`;
  }

  /** @param {LiveSnapshot} s */
  function liveStatus(s) {
    const topo = state.topology;
    const l = s.live;
    if (topo === null || l === null) return;
    badge(s);
    const phase =
      s.phase === 'warmup' ? 'warm-up (interest spreading to every broker)' : s.phase === 'done' ? '<b>run finished</b>' : s.t >= topo.durationMs ? 'draining (publishers stopped)' : 'traffic';
    $('clock').textContent = `t = ${F.simTime(s.t)} / ${F.simTime(topo.durationMs)}`;
    $('rate').innerHTML =
      s.phase === 'done'
        ? `${phase} · ${l.processes} broker processes, stopped · the last picture is the run's end`
        : `${phase} · wall clock · ${l.running}/${l.processes} broker processes running · ${F.int(l.publishedPerSecond)} published/s, ${F.int(l.deliveredPerSecond)} delivered/s`;
    $('rate').title = l.scrapedAt === null ? 'not scraped yet' : `last scrape at t = ${F.simTime(l.scrapedAt)}`;
    const t = s.totals;
    $('totals').innerHTML =
      `published <b>${F.int(t.published)}</b> · delivered <b>${F.int(t.delivered)}</b> to subscriber connections<br>WAN now <b>${F.mbps(t.wanMbps)}</b> · dropped <b>${F.int(t.dropped)}</b> <span class="dim">(the brokers' counters)</span>`;
  }

  /** @param {LiveSnapshot} s */
  function status(s) {
    if (s.live !== null) return liveStatus(s);
    const topo = state.topology;
    if (topo === null) return;
    const r = s.run;
    const phase = s.phase === 'warmup' ? 'warm-up (control plane, flat out)' : s.phase === 'done' ? 'finished' : r.paused ? 'paused' : 'traffic';
    $('clock').textContent = `t = ${F.simTime(s.t)} / ${F.simTime(topo.durationMs)}`;
    let rate = `${phase}`;
    if (s.phase === 'traffic' && !r.paused) {
      const want = r.speed === 'max' ? 'max' : `${F.speed(r.speed)}`;
      if (r.measuredSpeed === null) rate += ` · asked ${want}, measuring…`;
      else {
        // Measured, not requested: a huge mesh runs slower than real time and the view says so.
        const slow = r.speed !== 'max' && r.measuredSpeed < 0.9 * r.speed;
        rate += ` · <b class="${slow ? 'slow' : ''}">${F.speed(r.measuredSpeed)} real time</b> (asked ${want}${slow ? '; the simulator runs no faster here' : ''})`;
      }
    }
    $('rate').innerHTML = rate;
    $('rate').title = `speed measured over the last 3 wall seconds · mesh built in ${r.buildSeconds.toFixed(1)} s · ${F.int(r.kernelEvents)} kernel events so far`;
    $('pause').textContent = r.paused ? 'Resume' : 'Pause';
    document.querySelectorAll('#speeds button').forEach((b) => b.classList.toggle('on', String(r.speed) === /** @type {HTMLButtonElement} */ (b).dataset.speed));
    const t = s.totals;
    $('totals').innerHTML =
      `published <b>${F.int(t.published)}</b> · delivered <b>${F.int(t.delivered)}</b> to subscribers<br>WAN now <b>${F.mbps(t.wanMbps)}</b> · dropped <b>${F.int(t.dropped)}</b>`;
  }

  $('pause').addEventListener('click', () => send(state.snapshot && state.snapshot.run.paused ? 'resume' : 'pause'));
  document.querySelectorAll('#speeds button').forEach((el) => {
    const b = /** @type {HTMLButtonElement} */ (el);
    b.addEventListener('click', () => send('speed', b.dataset.speed === 'max' ? 'max' : Number(b.dataset.speed)));
  });
  $('restart').addEventListener('click', () => {
    const seed = Number(input('seed').value);
    if (!Number.isSafeInteger(seed)) return banner('seed: enter an integer', 4000);
    send('restart', { seed });
  });
})();
