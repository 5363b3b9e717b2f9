/**
 * What the browser scripts in viz/client/ see besides the DOM: the libraries loaded before them
 * as plain scripts, the socket.io client, and window.MT, the namespace they share. The data
 * shapes they draw come from the server's own types, so a field the server renames is an error
 * here too.
 *
 * d3 is typed loosely (no @types/d3 installed): any chain of d3 calls is a D3Chain, a callback
 * passed to one gets (datum: any, index: number), and the few calls whose result the scripts
 * compute with (max, sum, node, bounds, …) return plain values.
 */
type D3Callback = (this: any, d: any, i: number, nodes: any) => unknown;
type D3Arg = D3Callback | string | number | boolean | null | undefined | object;
interface D3Chain {
  (...args: D3Arg[]): any;
  node(): any;
  bounds(object: object): any;
  translate(...args: D3Arg[]): any;
  [method: string]: (...args: D3Arg[]) => D3Chain;
}
interface D3Values {
  max(values: Iterable<any>, f?: (d: any, i: number) => number | undefined | null): number | undefined;
  min(values: Iterable<any>, f?: (d: any, i: number) => number | undefined | null): number | undefined;
  sum(values: Iterable<any>, f?: (d: any, i: number) => number): number;
  range(n: number): number[];
  geoInterpolate(a: [number, number], b: [number, number]): (t: number) => [number, number];
}
declare const d3: D3Values & { [fn: string]: (...args: D3Arg[]) => D3Chain };
declare const topojson: { feature(topology: any, object: any): object };
declare const io: typeof import('socket.io-client').io;

type Topology = import('../snapshot.ts').Topology;
type Snapshot = import('../snapshot.ts').Snapshot;
type SeriesPoint = import('../snapshot.ts').SeriesPoint;
type ViewEvent = import('../snapshot.ts').ViewEvent;
type LiveSnapshot = import('../session.ts').LiveSnapshot;
type Hello = import('../server.ts').Hello;
type AckReply = import('../server.ts').AckReply;
/** report.html's data (reports/html.ts). */
type ReportData = ReturnType<typeof import('../../reports/html.ts').reportData>;

/** A click on the map: a broker or a link (by its two ends). */
type ViewSelection = { kind: 'broker'; id: string } | { kind: 'link'; a: string; b: string } | null;
/** A chart marker: a fault, numbered, at simulated second t. */
type Marker = { n: number; t: number; label: string };

interface MTFmt {
  int(x: number | null | undefined): string;
  mbps(x: number | null | undefined): string;
  bytes(x: number | null | undefined): string;
  bps(x: number): string;
  ms(x: number | null | undefined): string;
  pct(x: number | null | undefined): string;
  simTime(ms: number): string;
  speed(x: number | 'max' | null | undefined): string;
}

/** What geo.js computes with. */
type PathPoint = { x: number; y: number; t: number };
type Spot = { x: number; y: number };
type Box = { x: number; y: number; w: number; h: number };
type LonLat = [number, number];

interface MTGeo {
  norm(lon: number): number;
  centralMeridian(lons: number[]): number;
  greatCircle(project: (p: LonLat) => [number, number] | null, a: LonLat, b: LonLat, width: number, n?: number): PathPoint[][];
  staysWithin(a: LonLat, b: LonLat, south: number, north: number): boolean;
  offsetPieces(pieces: PathPoint[][], off: number, startShift: [number, number], endShift: [number, number]): PathPoint[][];
  pathData(pieces: PathPoint[][]): string;
  pointAt(pieces: PathPoint[][], t: number): { x: number; y: number; nx: number; ny: number };
  overlap(a: Box, b: Box): number;
  placeLabels(labels: Array<{ w: number; h: number; spots: Spot[] }>, obstacles: Box[], bounds: Box): Array<Spot & { free: boolean }>;
}

/** What the map and panel draw: a live snapshot, or report.html's (the run's averages). */
type ViewSnapshot = Snapshot | ReportData['snapshot'];

/** The public surface of map.js, charts.js and panel.js, as the pages use them. */
interface MTMapView {
  update(snap: ViewSnapshot): void;
  select(sel: ViewSelection): void;
  stop(): void;
}
interface MTCharts {
  setHistory(points: readonly SeriesPoint[]): void;
  setMarkers(markers: readonly Marker[]): void;
  add(point: SeriesPoint): void;
  draw(): void;
}
interface MTPanel {
  render(topology: Topology | null, snap: ViewSnapshot | null): void;
  show(sel: ViewSelection, topology: Topology | null, snap: ViewSnapshot | null): void;
  /** A live run's panel: its faults act on processes and shapers (and a region can be cut off). */
  setLive(live: boolean): void;
}
/** What charts.js draws besides WAN Mbps and latency (a live run's). */
interface MTChartsOptions {
  /** A third chart: events published and delivered per second (points' `rates`). */
  eventsEl?: HTMLElement | null;
  /** The x axis's label (default "simulated s"). */
  xLabel?: string;
  /** A line under the latency chart saying what it shows. */
  latencyNote?: string;
}

interface MTGlobal {
  fmt: MTFmt;
  geo: MTGeo;
  MapView: new (svgEl: SVGSVGElement | HTMLElement, topology: Topology, land: any, opts?: { onSelect?: (sel: ViewSelection) => void }) => MTMapView;
  Charts: new (wanEl: HTMLElement, latEl: HTMLElement, topology: Topology, opts?: MTChartsOptions) => MTCharts;
  Panel: new (el: HTMLElement, opts?: { onFault?: (action: string, target: string[]) => void }) => MTPanel;
  /** `finished`: the server's last word once the run is over (null while it goes). */
  live: { topology: Topology | null; snapshot: LiveSnapshot | null; snapshots: number; connected: boolean; finished: string | null };
  report: ReportData;
}

interface Window {
  MT: MTGlobal;
}

/** sweep.html's data (reports/sweep-html.ts). */
type SweepData = ReturnType<typeof import('../../reports/sweep-html.ts').sweepData>;
