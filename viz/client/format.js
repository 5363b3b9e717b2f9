// @ts-check
// Number formats shared by the live page and report.html (a classic script: window.MT.fmt).
(function () {
  const MT = (window.MT = window.MT || /** @type {MTGlobal} */ ({}));
  const int = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
  /** @param {number} x */
  function sig(x) {
    if (x >= 100) return x.toFixed(0);
    if (x >= 10) return x.toFixed(1);
    return x.toFixed(2);
  }
  /** @type {MTFmt} */
  MT.fmt = {
    int: (x) => (x === null || x === undefined || Number.isNaN(x) ? '—' : int.format(x)),
    mbps(x) {
      if (x === null || x === undefined || Number.isNaN(x)) return '—';
      if (x === 0) return '0 Mbps';
      if (x >= 1000) return `${sig(x / 1000)} Gbps`;
      if (x >= 1) return `${sig(x)} Mbps`;
      return `${sig(x * 1000)} kbps`;
    },
    bytes(x) {
      if (x === null || x === undefined) return '—';
      if (x >= 1e9) return `${sig(x / 1e9)} GB`;
      if (x >= 1e6) return `${sig(x / 1e6)} MB`;
      if (x >= 1e3) return `${sig(x / 1e3)} KB`;
      return `${Math.round(x)} B`;
    },
    bps(x) {
      if (x >= 1e9) return `${sig(x / 1e9)} Gbps`;
      if (x >= 1e6) return `${sig(x / 1e6)} Mbps`;
      return `${sig(x / 1e3)} kbps`;
    },
    ms(x) {
      if (x === null || x === undefined || Number.isNaN(x)) return '—';
      if (x >= 100) return `${x.toFixed(0)} ms`;
      if (x >= 10) return `${x.toFixed(1)} ms`;
      return `${x.toFixed(2)} ms`;
    },
    pct: (x) => (x === null || x === undefined ? '—' : x >= 0.1 ? `${(x * 100).toFixed(0)}%` : `${(x * 100).toFixed(2)}%`),
    simTime(ms) {
      const s = ms / 1000;
      return `${s < 0 ? '−' : ''}${Math.abs(s).toFixed(2)} s`;
    },
    speed(x) {
      if (x === null || x === undefined) return '…';
      if (x === 'max') return 'max';
      return x >= 10 ? `${x.toFixed(0)}×` : x >= 1 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`;
    },
  };
})();
