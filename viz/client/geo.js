// @ts-check
// Geometry for the map: where to center it, great-circle link paths that leave one edge and
// come back on the other when they cross the map's cut (the meridian opposite its center),
// and labels placed where they overlap nothing. Pure functions: window.MT.geo.
(function () {
  const MT = (window.MT = window.MT || /** @type {MTGlobal} */ ({}));

  /** @param {number} lon @returns {number} the same longitude in [-180, 180) */
  const norm = (lon) => ((((lon + 180) % 360) + 360) % 360) - 180;

  /**
   * The longitude to center the map on. The map is cut at the meridian opposite its center, so
   * the cut belongs in the widest gap between the regions' longitudes; the familiar
   * Atlantic-centered map (center 0, cut at 180) is kept when 180 lies in that gap with room.
   * @param {number[]} lons
   * @returns {number}
   */
  function centralMeridian(lons) {
    if (lons.length === 0) return 0;
    const s = [...new Set(lons.map(norm))].sort((a, b) => a - b);
    let best = -1;
    let from = 0;
    for (let i = 0; i < s.length; i++) {
      const a = /** @type {number} */ (s[i]);
      const b = i + 1 < s.length ? /** @type {number} */ (s[i + 1]) : /** @type {number} */ (s[0]) + 360;
      if (b - a > best) {
        best = b - a;
        from = a;
      }
    }
    const margin = Math.min(15, best / 4);
    // Is 180 (or -180, i.e. 180 + 360k) inside (from + margin, from + best - margin)?
    const at180 = norm(180 - from) + (norm(180 - from) < 0 ? 360 : 0);
    if (at180 > margin && at180 < best - margin) return 0;
    return Math.round(norm(from + best / 2 + 180) * 10) / 10;
  }

  /** @typedef {(p: [number, number]) => ([number, number] | null)} Project */

  /**
   * The great circle from a to b ([lon, lat]), projected and split where it crosses the map's
   * cut: one piece, or two when it leaves one edge and comes back on the other.
   * @param {Project} project
   * @param {[number, number]} a
   * @param {[number, number]} b
   * @param {number} width the map's width (a jump of more than a third of it is a crossing)
   * @param {number} [n] samples
   * @returns {PathPoint[][]}
   */
  function greatCircle(project, a, b, width, n = 96) {
    const interp = d3.geoInterpolate(a, b);
    /** @param {number} t @returns {PathPoint} */
    const at = (t) => {
      const p = project(interp(t)) || [NaN, NaN];
      return { x: p[0], y: p[1], t };
    };
    const jump = width / 3;
    /** @type {PathPoint[][]} */
    const pieces = [[at(0)]];
    for (let i = 1; i <= n; i++) {
      const q = at(i / n);
      const piece = /** @type {PathPoint[]} */ (pieces[pieces.length - 1]);
      const p = /** @type {PathPoint} */ (piece[piece.length - 1]);
      if (Math.abs(q.x - p.x) > jump) {
        // Crossing the cut between p and q: find it, end this piece there, start the next.
        let lo = p;
        let hi = q;
        for (let k = 0; k < 30; k++) {
          const mid = at((lo.t + hi.t) / 2);
          if (Math.abs(mid.x - lo.x) > jump) hi = mid;
          else lo = mid;
        }
        piece.push(lo);
        pieces.push([hi, q]);
      } else {
        piece.push(q);
      }
    }
    return pieces.map((piece) => piece.filter((p, i) => i === 0 || p.t !== /** @type {PathPoint} */ (piece[i - 1]).t));
  }

  /**
   * Pieces moved sideways (to the right of the direction of travel) by `off` × sin(πt), so the
   * two directions of a link lie side by side and meet at its ends; the ends are moved by
   * `startShift` / `endShift` (a broker's place beside its region's center), blended along t.
   * @param {PathPoint[][]} pieces
   * @param {number} off
   * @param {[number, number]} startShift
   * @param {[number, number]} endShift
   * @returns {PathPoint[][]}
   */
  function offsetPieces(pieces, off, startShift, endShift) {
    return pieces.map((piece) =>
      piece.map((p, i) => {
        const prev = piece[Math.max(0, i - 1)] || p;
        const next = piece[Math.min(piece.length - 1, i + 1)] || p;
        const dx = next.x - prev.x;
        const dy = next.y - prev.y;
        const len = Math.hypot(dx, dy) || 1;
        const k = off * Math.sin(Math.PI * p.t);
        return {
          x: p.x - (dy / len) * k + startShift[0] * (1 - p.t) + endShift[0] * p.t,
          y: p.y + (dx / len) * k + startShift[1] * (1 - p.t) + endShift[1] * p.t,
          t: p.t,
        };
      }),
    );
  }

  /**
   * Whether the great circle from a to b stays between two latitudes (the map's band).
   * @param {[number, number]} a
   * @param {[number, number]} b
   * @param {number} south
   * @param {number} north
   * @returns {boolean}
   */
  function staysWithin(a, b, south, north) {
    const interp = d3.geoInterpolate(a, b);
    for (let i = 0; i <= 64; i++) {
      const lat = interp(i / 64)[1];
      if (lat > north || lat < south) return false;
    }
    return true;
  }

  /** @param {PathPoint[][]} pieces @returns {string} SVG path data */
  function pathData(pieces) {
    return pieces
      .filter((p) => p.length > 1)
      .map((p) => `M${p.map((q) => `${q.x.toFixed(1)},${q.y.toFixed(1)}`).join('L')}`)
      .join('');
  }

  /**
   * The point of the pieces nearest parameter t, and the unit normal there (to the right of travel).
   * @param {PathPoint[][]} pieces
   * @param {number} t
   * @returns {{ x: number, y: number, nx: number, ny: number }}
   */
  function pointAt(pieces, t) {
    let best = { x: 0, y: 0, nx: 0, ny: 0 };
    let dBest = Infinity;
    for (const piece of pieces) {
      piece.forEach((p, i) => {
        const d = Math.abs(p.t - t);
        if (d >= dBest) return;
        dBest = d;
        const prev = piece[Math.max(0, i - 1)] || p;
        const next = piece[Math.min(piece.length - 1, i + 1)] || p;
        const dx = next.x - prev.x;
        const dy = next.y - prev.y;
        const len = Math.hypot(dx, dy) || 1;
        best = { x: p.x, y: p.y, nx: -dy / len, ny: dx / len };
      });
    }
    return best;
  }

  /** @param {Box} a @param {Box} b @returns {number} overlap area */
  function overlap(a, b) {
    const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    return w > 0 && h > 0 ? w * h : 0;
  }

  /**
   * Greedy label placement: each label takes its first candidate spot that overlaps nothing
   * placed so far (obstacles included) and stays inside `bounds`; failing that, the spot that
   * overlaps least. A spot is the label's center; `free` says whether it overlaps nothing.
   * Placed boxes are added to `obstacles`.
   * @param {Array<{ w: number, h: number, spots: Spot[] }>} labels
   * @param {Box[]} obstacles
   * @param {Box} bounds
   * @returns {Array<Spot & { free: boolean }>}
   */
  function placeLabels(labels, obstacles, bounds) {
    return labels.map((l) => {
      let best = /** @type {Spot} */ (l.spots[0]);
      let bestCost = Infinity;
      for (const s of l.spots) {
        const box = { x: s.x - l.w / 2, y: s.y - l.h / 2, w: l.w, h: l.h };
        const outside = box.x < bounds.x || box.y < bounds.y || box.x + box.w > bounds.x + bounds.w || box.y + box.h > bounds.y + bounds.h;
        let cost = outside ? l.w * l.h : 0;
        for (const o of obstacles) cost += overlap(box, o);
        if (cost < bestCost) {
          bestCost = cost;
          best = s;
          if (cost === 0) break;
        }
      }
      obstacles.push({ x: best.x - l.w / 2, y: best.y - l.h / 2, w: l.w, h: l.h });
      return { x: best.x, y: best.y, free: bestCost === 0 };
    });
  }

  /** @type {MTGeo} */
  MT.geo = { norm, centralMeridian, greatCircle, staysWithin, offsetPieces, pathData, pointAt, overlap, placeLabels };
})();
