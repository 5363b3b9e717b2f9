// @ts-check
// The details panel for a clicked broker or link, with the fault buttons in the live view (on
// a simulation, or with setLive(true) on a live run's processes). window.MT.Panel.
(function () {
  const MT = (window.MT = window.MT || /** @type {MTGlobal} */ ({}));
  const f = () => MT.fmt;
  /** @type {Record<string, string>} */
  const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
  /** @param {unknown} s */
  const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ENTITIES[c] || c);

  /**
   * @typedef {{ onFault?: (action: string, target: string[]) => void }} PanelOptions
   * @typedef {'head' | 'actions' | 'body'} Part
   */

  /**
   * @constructor
   * @param {HTMLElement} el
   * @param {PanelOptions} [opts]
   */
  function Panel(el, opts) {
    this.el = el;
    /** @type {PanelOptions} */
    this.opts = opts || {};
    /** @type {ViewSelection} */
    this.sel = null;
    // Three parts, each replaced only when its text changes: a button re-created ten times a
    // second would lose clicks (press on one element, release on its replacement).
    el.innerHTML = '<div class="p-head"></div><div class="actions"></div><div class="p-body"></div>';
    /** @type {Record<Part, Element>} */
    this.parts = { head: /** @type {Element} */ (el.children[0]), actions: /** @type {Element} */ (el.children[1]), body: /** @type {Element} */ (el.children[2]) };
    /** @type {Record<Part, string | null>} */
    this.last = { head: null, actions: null, body: null };
    /** A live run (meshtwin live --viz): faults go to processes and shapers. */
    this.live = false;
  }

  /** @param {boolean} live */
  Panel.prototype.setLive = function (live) {
    this.live = live;
  };

  /** @param {string} head @param {string} actions @param {string} body */
  Panel.prototype.set = function (head, actions, body) {
    const next = { head, actions, body };
    for (const k of /** @type {Part[]} */ (['head', 'actions', 'body'])) {
      if (this.last[k] === next[k]) continue;
      this.last[k] = next[k];
      this.parts[k].innerHTML = next[k];
      if (k === 'actions') this.wire();
    }
  };

  /** @param {ViewSelection} sel @param {Topology | null} topology @param {ViewSnapshot | null} snap */
  Panel.prototype.show = function (sel, topology, snap) {
    this.sel = sel;
    this.render(topology, snap);
  };

  /** @param {Topology | null} topology @param {ViewSnapshot | null} snap */
  Panel.prototype.render = function (topology, snap) {
    const sel = this.sel;
    if (!sel || !snap || !topology) {
      this.set(
        '',
        '',
        `<p class="hint">Click a broker or a link for its figures.${
          !this.opts.onFault
            ? ''
            : this.live
              ? " From here you can crash and restart a broker's process, cut and restore a link (both its shapers) or cut a broker's region off from the rest: the fault is done on the running mesh."
              : ' From here you can crash and restart a broker or cut and restore a link: the fault goes into the running simulation.'
        }</p>`,
      );
      return;
    }
    if (sel.kind === 'broker') this.broker(topology, snap, sel.id);
    else this.link(topology, snap, sel.a, sel.b);
  };

  /** @param {string} k @param {string} v @param {string} [cls] */
  function row(k, v, cls) {
    return `<tr${cls ? ` class="${cls}"` : ''}><th>${esc(k)}</th><td>${v}</td></tr>`;
  }

  /** Why faults cannot be injected now (null: they can). */
  /** @param {ViewSnapshot} snap @param {Topology} topology @returns {string | null} */
  Panel.prototype.faultsClosed = function (snap, topology) {
    if (this.live) {
      if (snap.phase === 'done') return 'The live run has finished: its broker processes are stopped.';
      if (snap.t >= topology.durationMs) return 'The measured window is over: the run drains, then stops its processes.';
      return null;
    }
    return snap.phase === 'done' ? 'The run has finished: faults go into a running simulation. Restart it (top right) to inject one.' : null;
  };

  /**
   * @param {string} label @param {string} action @param {string[]} target @param {boolean} danger
   * @param {ViewSnapshot} snap @param {Topology} topology
   */
  Panel.prototype.button = function (label, action, target, danger, snap, topology) {
    if (!this.opts.onFault) return '';
    const closed = this.faultsClosed(snap, topology);
    const button = `<button class="fault ${danger ? 'danger' : 'safe'}" data-action="${action}" data-target="${esc(target.join('|'))}"${closed ? ` disabled title="${esc(closed)}"` : ''}>${esc(label)}</button>`;
    return closed ? `${button}<p class="closed dim note">${esc(closed)}</p>` : button;
  };

  Panel.prototype.wire = function () {
    this.parts.actions.querySelectorAll('button.fault').forEach((el) => {
      const b = /** @type {HTMLButtonElement} */ (el);
      b.addEventListener('click', () => this.opts.onFault?.(b.dataset.action || '', (b.dataset.target || '').split('|')));
    });
  };

  /** @param {Topology} topology @param {ViewSnapshot} snap @param {string} id */
  Panel.prototype.broker = function (topology, snap, id) {
    const F = f();
    const spec = topology.brokers.find((b) => b.id === id);
    /** @type {ViewSnapshot['brokers'][number] | undefined} */
    const b = snap.brokers.find((x) => x.id === id);
    if (spec === undefined || b === undefined) return this.set('', '', `<p class="hint">no broker ${esc(id)}</p>`);
    const lat = b.latency;
    /** @param {string} name @param {import('../latency.ts').LatencyPair | null} p */
    const latRow = (name, p) =>
      row(name, p && p.count > 0 ? `${F.ms(p.p50)} <span class="dim">p50</span> · ${F.ms(p.p99)} <span class="dim">p99</span>` : '<span class="dim">no deliveries in the window</span>');
    const routes = b.routes.length
      ? `<table class="routes"><tr><th>to</th><th>next hop</th></tr>${b.routes.map(([d, h]) => `<tr><td>${esc(d)}</td><td>${esc(h)}${d === h ? ' <span class="dim">(direct)</span>' : ''}</td></tr>`).join('')}</table>`
      : '<p class="dim">no routes</p>';
    this.set(
      `<h2><span class="state ${b.alive ? 'up' : 'down'}"></span>${esc(id)} <small>${esc(spec.region)}</small></h2>`,
      (b.alive ? this.button('Crash broker', 'crash', [id], true, snap, topology) : this.button('Restart broker', 'restart', [id], false, snap, topology)) +
        this.regionButton(topology, snap, spec.region),
      `<table class="kv">
        ${row('state', b.alive ? 'running' : '<b class="bad">down</b>')}
        ${row('Mbps in / out', `${F.mbps(b.mbpsIn)} / ${F.mbps(b.mbpsOut)}`)}
        ${
          lat
            ? latRow('latency, local', lat.local) + latRow(this.live ? 'latency, from other brokers' : 'latency, cross-region', lat.cross)
            : row('latency', `<span class="dim">${this.live ? 'no scrape yet' : 'per broker in the live view only'}</span>`)
        }
        ${row('subscribers', F.int(spec.connections))}
        ${row('subscriptions', `${F.int(spec.populations)} populations`)}
        ${row('routing entries', `${F.int(b.routingEntries)} <span class="dim">(${F.int(b.localPatterns)} local, ${F.int(b.remotePatterns)} remote patterns)</span>`)}
        ${
          'spoolPeakBytes' in b
            ? // report.html: peaks over the run, not a moment's state.
              row('spool peak', F.bytes(b.spoolPeakBytes)) + row('consumer queue peak', `${F.int(b.consumerQueuePeak)} messages`)
            : row('spool', b.spoolEvents === null ? F.bytes(b.spoolBytes) : `${F.int(b.spoolEvents)} events · ${F.bytes(b.spoolBytes)}`) +
              row(
                'consumer queues',
                b.consumerQueue === null ? `<span class="dim">${this.live ? 'not measured live' : 'not sampled (too many populations)'}</span>` : `${F.int(b.consumerQueue)} messages`,
              )
        }
        ${row('published', F.int(b.published))}
        ${row('delivered', `${F.int(b.deliveries)} <span class="dim">to subscribers</span>`)}
      </table>
      <h3>Routes</h3>${routes}`,
    );
  };

  /** @param {Topology} topology @param {ViewSnapshot} snap @param {string} a @param {string} b */
  Panel.prototype.link = function (topology, snap, a, b) {
    const F = f();
    const l = topology.links.find((x) => x.a === a && x.b === b);
    const d0 = l && snap.directions[l.dirs[0]];
    const d1 = l && snap.directions[l.dirs[1]];
    if (l === undefined || d0 === undefined || d1 === undefined) return this.set('', '', `<p class="hint">no link ${esc(a)} – ${esc(b)}</p>`);
    const up = d0.up && d1.up;
    /** @param {string} from @param {string} to @param {ViewSnapshot['directions'][number]} d */
    const dirRow = (from, to, d) =>
      `<tr><td>${esc(from)} → ${esc(to)}</td><td>${d.up ? F.mbps(d.mbps) : '<b class="bad">down</b>'}</td><td>${F.pct(d.utilization)}</td><td>${F.bytes(d.queueBytes)}</td><td>${F.int(d.inFlight)}</td><td>${F.bytes(d.bytes)}</td></tr>`;
    this.set(
      `<h2><span class="state ${up ? 'up' : 'down'}"></span>${esc(a)} – ${esc(b)} <small>${l.wan ? 'WAN' : 'LAN'}</small></h2>`,
      up ? this.button('Cut link', 'link-down', [a, b], true, snap, topology) : this.button('Restore link', 'link-up', [a, b], false, snap, topology),
      `<table class="kv">
        ${row('state', up ? 'up' : '<b class="bad">down</b>')}
        ${row('RTT', F.ms(l.rttMs))}
        ${row('bandwidth', `${F.bps(l.bandwidthBps)} <span class="dim">each way</span>`)}
      </table>
      <table class="dirs">
        <tr><th>direction</th><th>now</th><th>util</th><th>queue</th><th>in flight</th><th>sent</th></tr>
        ${dirRow(a, b, d0)}${dirRow(b, a, d1)}
      </table>
      <p class="dim note">${
        this.live
          ? "Wire Mbps from the sending broker's meshtwin_link_bytes_total over the last scrape (about 1 s; codec bytes + modeled transport overhead); queue = bytes not yet written to the socket; in flight is not measured live; sent = bytes since traffic started."
          : `Wire Mbps over the last ${'\u2265'}250 ms simulated (codec bytes + transport overhead); queue = bytes waiting to be serialized; sent = bytes since traffic started.`
      }</p>`,
    );
  };

  /**
   * A live run's region faults: cut the broker's region off from the rest (every link leaving it),
   * or heal it. None in a simulation, nor for a region no link leaves.
   * @param {Topology} topology @param {ViewSnapshot} snap @param {string} region
   */
  Panel.prototype.regionButton = function (topology, snap, region) {
    // Closed: the broker's own button already says why.
    if (!this.live || this.faultsClosed(snap, topology) !== null) return '';
    const inside = new Set(topology.regions.find((r) => r.id === region)?.brokers || []);
    const out = topology.links.filter((l) => inside.has(l.a) !== inside.has(l.b));
    if (out.length === 0) return '';
    const anyUp = out.some((l) => snap.directions[l.dirs[0]]?.up || snap.directions[l.dirs[1]]?.up);
    return anyUp ? ` ${this.button(`Partition ${region}`, 'partition', [region], true, snap, topology)}` : ` ${this.button(`Heal ${region}`, 'heal', [region], false, snap, topology)}`;
  };

  MT.Panel = Panel;
})();
