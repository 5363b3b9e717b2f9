// @ts-check
// The topology on a world map: regions at their real locations, brokers as nodes, each link
// direction as a curve whose width follows its Mbps and whose color follows its utilization,
// with dots flowing along it, denser where traffic is heavier. window.MT.MapView.
(function () {
  const MT = (window.MT = window.MT || /** @type {MTGlobal} */ ({}));
  const W = 960;
  /** The latitudes people live at: the map is cropped to them. */
  // Along the parallels (a polygon's edges are great circles, so sample them), wound so that
  // its inside is the band and not the rest of the sphere.
  const NORTH = 73;
  const SOUTH = -47;
  const BAND = (() => {
    const ring = [];
    for (let x = -180; x <= 180; x += 2) ring.push([x, NORTH]);
    for (let x = 180; x >= -180; x -= 2) ring.push([x, SOUTH]);
    ring.push(ring[0]);
    return { type: 'Polygon', coordinates: [ring] };
  })();
  const NODE_R = 13;

  /** Stroke width for a direction's Mbps (log: a control-plane trickle and 1 Gbps both read). */
  /** @param {number} mbps */
  function widthOf(mbps) {
    return Math.min(16, 1.5 + 2.6 * Math.log10(1 + Math.max(0, mbps) * 10));
  }
  /** Flow dots on a direction: none when idle, more as Mbps grows (log). */
  /** @param {number} mbps */
  function dotsOf(mbps) {
    if (!(mbps > 0.05)) return 0;
    return Math.max(1, Math.min(28, Math.round(3 * Math.log2(1 + mbps))));
  }
  const utilColor = d3.scaleLinear().domain([0, 0.3, 0.6, 0.9]).range(['#2ea043', '#a5d6a7', '#e3b341', '#f85149']).clamp(true);

  /**
   * @typedef {{ onSelect?: (sel: ViewSelection) => void }} MapOptions
   * @typedef {{ d: string, spots: Spot[], mid: { x: number, y: number } }} DirGeometry
   * @typedef {{ spec: Topology['directions'][number], link: Topology['links'][number], g: any, line: any, flow: any, label: any,
   *   geo: DirGeometry, node: SVGPathElement, length: number, phase: number, dots: number, mbps: number, dataMbps: number, up: boolean }} DirView
   */

  /**
   * @constructor
   * @param {SVGSVGElement | HTMLElement} svgEl
   * @param {Topology} topology
   * @param {any} land the world-atlas TopoJSON (null: no land drawn)
   * @param {MapOptions} [opts]
   */
  function MapView(svgEl, topology, land, opts) {
    /** @type {MapOptions} */
    this.opts = opts || {};
    this.topology = topology;
    const located = topology.regions.filter((r) => r.location !== null);
    const G = MT.geo;
    // The world map, as wide as the view and cropped to BAND, so regions read as places;
    // centered so that its cut (the meridian opposite the center) falls between regions.
    const center = G.centralMeridian(located.map((r) => (r.location ? r.location.lon : 0)));
    const projection = d3
      .geoNaturalEarth1()
      .rotate([-center, 0])
      .fitWidth(W - 16, BAND);
    const band = d3.geoPath(projection).bounds(BAND);
    const H = located.length > 0 ? Math.ceil(band[1][1] - band[0][1]) + 16 : 480;
    projection.translate([projection.translate()[0] + 8, projection.translate()[1] - band[0][1] + 8]);
    const svg = d3.select(svgEl).attr('viewBox', `0 0 ${W} ${H}`).attr('preserveAspectRatio', 'xMidYMid meet');
    svg.selectAll('*').remove();
    this.svg = svg;
    this.projection = projection;
    const defs = svg.append('defs');
    const glow = defs.append('filter').attr('id', 'glow').attr('x', '-50%').attr('y', '-50%').attr('width', '200%').attr('height', '200%');
    glow.append('feGaussianBlur').attr('stdDeviation', 2.5).attr('result', 'b');
    const merge = glow.append('feMerge');
    merge.append('feMergeNode').attr('in', 'b');
    merge.append('feMergeNode').attr('in', 'SourceGraphic');

    const base = svg.append('g').attr('class', 'base');
    if (located.length > 0) {
      const path = d3.geoPath(projection);
      base.append('path').attr('class', 'graticule').attr('d', path(d3.geoGraticule10()));
      if (land)
        base
          .append('path')
          .attr('class', 'land')
          .attr('d', path(topojson.feature(land, land.objects.land)));
    }

    // Region centers: projected locations; regions without one go on a row along the bottom.
    /** @type {Map<string, [number, number]>} */
    const centers = new Map();
    /** @param {string} id @returns {[number, number]} */
    const centerOf = (id) => centers.get(id) || [W / 2, H / 2];
    const unlocated = topology.regions.filter((r) => !r.location);
    topology.regions.forEach((r) => {
      if (r.location) centers.set(r.id, projection([r.location.lon, r.location.lat]));
    });
    unlocated.forEach((r, i) => {
      if (located.length === 0) {
        const a = (2 * Math.PI * i) / unlocated.length - Math.PI / 2;
        centers.set(r.id, [W / 2 + Math.cos(a) * H * 0.32, H / 2 + Math.sin(a) * H * 0.32]);
      } else {
        centers.set(r.id, [(W * (i + 1)) / (unlocated.length + 1), H - 40]);
      }
    });
    // Brokers around their region's center.
    /** @type {Map<string, [number, number]>} */
    const pos = new Map();
    /** @param {string} id @returns {[number, number]} */
    const posOf = (id) => pos.get(id) || [W / 2, H / 2];
    topology.regions.forEach((r) => {
      const [cx, cy] = centerOf(r.id);
      const k = r.brokers.length;
      const rad = k === 1 ? 0 : 20 + 5 * k;
      r.brokers.forEach((b, i) => {
        const a = (2 * Math.PI * i) / k - Math.PI / 2 + (k === 2 ? Math.PI / 2 : 0);
        pos.set(b, [cx + Math.cos(a) * rad, cy + Math.sin(a) * rad]);
      });
    });
    this.pos = pos;

    const regionG = svg.append('g').attr('class', 'regions');
    /** @type {Map<string, Topology['regions'][number]>} */
    const regionOf = new Map();
    /** @type {Map<string, number>} */
    const regionRadius = new Map();
    topology.regions.forEach((r) => {
      const [cx, cy] = centerOf(r.id);
      const k = r.brokers.length;
      const rad = (k === 1 ? 0 : 20 + 5 * k) + NODE_R + 9;
      regionRadius.set(r.id, rad);
      r.brokers.forEach((b) => regionOf.set(b, r));
      const g = regionG.append('g').attr('class', 'region').attr('data-region', r.id);
      g.append('circle').attr('cx', cx).attr('cy', cy).attr('r', rad);
    });

    // Each direction: a curve bending to its own right, so a→b and b→a lie side by side. Between
    // located regions it follows the great circle (a trans-Pacific link leaves one edge of the
    // map and comes back on the other); inside a region, without locations, or when the great
    // circle runs off the map (a polar route, such as Singapore – Virginia), an arc on the map.
    const LABEL_T = [0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78, 0.15, 0.85];
    const LABEL_OFF = [10, 18, 27];
    /** @param {string} from @param {string} to @returns {DirGeometry} */
    const dirPath = (from, to) => {
      const [x0, y0] = posOf(from);
      const [x1, y1] = posOf(to);
      const ra = regionOf.get(from);
      const rb = regionOf.get(to);
      if (ra && rb && ra !== rb && ra.location && rb.location && G.staysWithin([ra.location.lon, ra.location.lat], [rb.location.lon, rb.location.lat], SOUTH + 2, NORTH - 2)) {
        const ca = centerOf(ra.id);
        const cb = centerOf(rb.id);
        const base = G.greatCircle(projection, [ra.location.lon, ra.location.lat], [rb.location.lon, rb.location.lat], W);
        let drawn = 0;
        for (const piece of base) for (let i = 1; i < piece.length; i++) drawn += Math.hypot(piece[i].x - piece[i - 1].x, piece[i].y - piece[i - 1].y);
        const off = Math.max(7, Math.min(18, drawn * 0.04));
        const pieces = G.offsetPieces(base, off, [x0 - ca[0], y0 - ca[1]], [x1 - cb[0], y1 - cb[1]]);
        const spots = LABEL_T.flatMap((t) => {
          const p = G.pointAt(pieces, t);
          return LABEL_OFF.map((k) => ({ x: p.x + p.nx * k, y: p.y + p.ny * k }));
        });
        return { d: G.pathData(pieces), spots, mid: G.pointAt(G.offsetPieces(base, 0, [x0 - ca[0], y0 - ca[1]], [x1 - cb[0], y1 - cb[1]]), 0.5) };
      }
      const dx = x1 - x0;
      const dy = y1 - y0;
      const len = Math.hypot(dx, dy) || 1;
      const off = Math.max(7, Math.min(26, len * 0.07));
      const nx = -dy / len;
      const ny = dx / len;
      const mx = (x0 + x1) / 2 + nx * off;
      const my = (y0 + y1) / 2 + ny * off;
      // Points of the quadratic curve, for label spots.
      /** @param {number} t @returns {[number, number]} */
      const q = (t) => [(1 - t) * (1 - t) * x0 + 2 * (1 - t) * t * mx + t * t * x1, (1 - t) * (1 - t) * y0 + 2 * (1 - t) * t * my + t * t * y1];
      const spots = LABEL_T.flatMap((t) => {
        const [px, py] = q(t);
        return LABEL_OFF.map((k) => ({ x: px + nx * k, y: py + ny * k }));
      });
      return { d: `M${x0},${y0} Q${mx},${my} ${x1},${y1}`, spots, mid: { x: (x0 + x1) / 2, y: (y0 + y1) / 2 } };
    };
    const linkG = svg.append('g').attr('class', 'links');
    /** @type {DirView[]} */
    this.dirs = topology.directions.map((d) => {
      const link = topology.links.find((l) => l.dirs[0] === d.index || l.dirs[1] === d.index);
      if (link === undefined) throw new Error(`direction ${d.from} > ${d.to} belongs to no link`);
      const geo = dirPath(d.from, d.to);
      const g = linkG
        .append('g')
        .attr('class', `dir ${d.wan ? 'wan' : 'lan'}`)
        .attr('data-dir', `${d.from}>${d.to}`)
        .attr('data-link', `${link.a}|${link.b}`);
      const line = g.append('path').attr('class', 'line').attr('d', geo.d).attr('stroke-width', widthOf(0)).attr('stroke', utilColor(0));
      const flow = g.append('g').attr('class', 'flow');
      const hit = g.append('path').attr('class', 'hit').attr('d', geo.d);
      hit.append('title').text(`${d.from} → ${d.to}`);
      hit.on('click', (ev) => {
        ev.stopPropagation();
        this.select({ kind: 'link', a: link.a, b: link.b });
      });
      const label = d.wan ? linkG.append('text').attr('class', 'dir-label').attr('text-anchor', 'middle') : null;
      /** @type {SVGPathElement} */
      const node = line.node();
      return { spec: d, link, g, line, flow, label, geo, node, length: node.getTotalLength(), phase: Math.random(), dots: 0, mbps: 0, dataMbps: 0, up: true };
    });
    // Cut marks, one per link, shown while it is down.
    this.cuts = topology.links.map((l) => {
      // On the link's own path (a trans-Pacific link's middle is not between its ends on the map).
      const mid = dirPath(l.a, l.b).mid;
      const g = linkG
        .append('g')
        .attr('class', 'cut')
        .attr('data-cut', `${l.a}|${l.b}`)
        .attr('transform', `translate(${mid.x.toFixed(1)},${mid.y.toFixed(1)})`)
        .style('display', 'none');
      g.append('circle').attr('r', 11);
      g.append('path').attr('d', 'M-5,-5L5,5M5,-5L-5,5');
      return { link: l, g };
    });

    // Labels where they overlap nothing: region names first (above, below or beside their
    // circle), then each WAN direction's Mbps (along its own curve). Nodes and broker names are
    // obstacles. Region names go above the links, so a link arriving from above does not hide them.
    /** @type {Box[]} */
    const obstacles = [];
    topology.brokers.forEach((b) => {
      const [x, y] = posOf(b.id);
      obstacles.push({ x: x - NODE_R - 3, y: y - NODE_R - 3, w: 2 * NODE_R + 6, h: 2 * NODE_R + 6 });
      obstacles.push({ x: x - b.id.length * 3.7 - 2, y: y + NODE_R + 2, w: b.id.length * 7.4 + 4, h: 15 });
    });
    /** @param {string} text @param {string} cls @returns {number} */
    const textWidth = (text, cls) => {
      const t = svg.append('text').attr('class', cls).text(text);
      const w = t.node().getBBox().width;
      t.remove();
      return w > 0 ? w : text.length * 7.2;
    };
    const regionLabelG = svg.append('g').attr('class', 'region-labels');
    const bounds = { x: 0, y: 0, w: W, h: H };
    const regionSpots = G.placeLabels(
      topology.regions.map((r) => {
        const [cx, cy] = centerOf(r.id);
        const rad = regionRadius.get(r.id) || 0;
        const w = textWidth(r.id, 'region-label-measure') + 6;
        return {
          w,
          h: 16,
          spots: [
            { x: cx, y: cy - rad - 10 },
            { x: cx, y: cy + rad + 12 },
            { x: cx - rad - w / 2 - 4, y: cy },
            { x: cx + rad + w / 2 + 4, y: cy },
            { x: cx - rad - w / 2, y: cy - rad },
            { x: cx + rad + w / 2, y: cy - rad },
            { x: cx - rad - w / 2, y: cy + rad },
            { x: cx + rad + w / 2, y: cy + rad },
          ],
        };
      }),
      obstacles,
      bounds,
    );
    regionLabelG
      .selectAll('text')
      .data(topology.regions)
      .join('text')
      .attr('data-region-label', (r) => r.id)
      .attr('x', (_r, i) => regionSpots[i].x.toFixed(1))
      .attr('y', (_r, i) => (regionSpots[i].y + 4).toFixed(1))
      .attr('text-anchor', 'middle')
      .text((r) => r.id);
    this.labelObstacles = obstacles;
    this.labelBounds = bounds;
    /** @type {string | null} which directions carry events, when the labels were last placed */
    this.labelKey = null;
    this.placeDirLabels();
    const nodeG = svg.append('g').attr('class', 'nodes');
    this.nodes = topology.brokers.map((b) => {
      const [x, y] = posOf(b.id);
      const g = nodeG.append('g').attr('class', 'broker').attr('data-broker', b.id).attr('transform', `translate(${x},${y})`);
      g.append('circle')
        .attr('class', 'halo')
        .attr('r', NODE_R + 4);
      g.append('circle').attr('class', 'body').attr('r', NODE_R);
      g.append('path').attr('class', 'x').attr('d', 'M-6,-6L6,6M6,-6L-6,6');
      g.append('text')
        .attr('class', 'name')
        .attr('y', NODE_R + 13)
        .attr('text-anchor', 'middle')
        .text(b.id);
      g.append('title').text(`${b.id} (${b.region})`);
      g.on('click', (ev) => {
        ev.stopPropagation();
        this.select({ kind: 'broker', id: b.id });
      });
      return { spec: b, g };
    });
    svg.on('click', () => this.select(null));

    // Flow dots move at a constant on-screen speed; their number says how heavy the flow is.
    this.timer = d3.timer((elapsed) => this.tick(elapsed));
    this.lastTick = 0;
  }

  /**
   * Places the WAN directions' Mbps labels: those carrying events first, then those carrying
   * control traffic only; a control-only label with no free spot is hidden (its figure is in the
   * link's panel). Runs again when which directions carry events changes.
   */
  MapView.prototype.placeDirLabels = function () {
    /** @param {DirView} d */
    const busy = (d) => d.up !== false && d.dataMbps > 0;
    const key = this.dirs.map((d) => (busy(d) ? 1 : 0)).join('');
    if (key === this.labelKey) return;
    this.labelKey = key;
    const withLabel = this.dirs.filter((d) => d.label);
    const order = [...withLabel.filter(busy), ...withLabel.filter((d) => !busy(d))];
    const placed = MT.geo.placeLabels(
      order.map((d) => ({ w: 54, h: 13, spots: d.geo.spots })),
      this.labelObstacles.slice(),
      this.labelBounds,
    );
    order.forEach((d, i) => {
      const spot = placed[i];
      d.label
        .attr('x', spot.x.toFixed(1))
        .attr('y', (spot.y + 4).toFixed(1))
        .attr('display', busy(d) || spot.free ? null : 'none');
    });
  };

  /** @param {ViewSelection} sel */
  MapView.prototype.select = function (sel) {
    this.selection = sel;
    this.dirs.forEach((d) => d.g.classed('selected', !!sel && sel.kind === 'link' && sel.a === d.link.a && sel.b === d.link.b));
    this.nodes.forEach((n) => n.g.classed('selected', !!sel && sel.kind === 'broker' && sel.id === n.spec.id));
    if (this.opts.onSelect) this.opts.onSelect(sel);
  };

  /** @param {ViewSnapshot} snap */
  MapView.prototype.update = function (snap) {
    this.dirs.forEach((d) => {
      const s = snap.directions[d.spec.index];
      if (s === undefined) return;
      d.mbps = s.mbps;
      d.dataMbps = s.dataMbps;
      d.up = s.up;
      d.line.attr('stroke-width', s.up ? widthOf(s.mbps).toFixed(2) : 1.5).attr('stroke', s.up ? utilColor(s.utilization) : '#6e7681');
      d.g.classed('down', !s.up).attr('data-mbps', s.mbps.toFixed(4)).attr('data-up', String(s.up));
      // A direction carrying control traffic only (hellos, adverts) has its figure dimmed.
      if (d.label)
        d.label
          .text(s.up ? MT.fmt.mbps(s.mbps) : 'down')
          .classed('down', !s.up)
          .classed('idle', s.up && !(s.dataMbps > 0));
      const n = s.up ? dotsOf(s.dataMbps) : 0;
      if (n !== d.dots) {
        d.dots = n;
        d.flow.selectAll('circle').data(d3.range(n)).join('circle').attr('r', 2.2);
      }
    });
    this.placeDirLabels();
    this.cuts.forEach((c) => {
      const down = !snap.directions[c.link.dirs[0]]?.up || !snap.directions[c.link.dirs[1]]?.up;
      c.g.style('display', down ? null : 'none');
    });
    this.nodes.forEach((n) => {
      const alive = snap.brokers.find((x) => x.id === n.spec.id)?.alive === true;
      n.g.classed('down', !alive).attr('data-alive', String(alive));
    });
  };

  /** @param {number} elapsed wall ms since the timer started */
  MapView.prototype.tick = function (elapsed) {
    const dt = Math.min(100, elapsed - this.lastTick) / 1000;
    this.lastTick = elapsed;
    const speedPx = 90;
    for (const d of this.dirs) {
      if (d.dots === 0) continue;
      d.phase = (d.phase + (dt * speedPx) / d.length) % 1;
      const n = d.dots;
      const node = d.node;
      const len = d.length;
      d.flow.selectAll('circle').each(
        /** @this {SVGCircleElement} @param {number} k */ function (k) {
          const p = node.getPointAtLength(((d.phase + k / n) % 1) * len);
          this.setAttribute('cx', p.x.toFixed(1));
          this.setAttribute('cy', p.y.toFixed(1));
        },
      );
    }
  };

  MapView.prototype.stop = function () {
    this.timer.stop();
  };

  MapView.widthOf = widthOf;
  MapView.utilColor = utilColor;
  MT.MapView = MapView;
})();
