import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPeerDir, notInstalledReason, ns3Installed, parseNs3Result } from './peer.ts';

// wanmesh.cc's output from a run of `run.sh 1` on this repo's machine (ns-3 3.37).
const OUTPUT = `flow us1->eu1 (WAN)     delivered 77119 packets (77119/sim-s)
flow eu1->ap1 (WAN)     delivered 65728 packets (65728/sim-s)
flow ap1->us2 (WAN)     delivered 45449 packets (45449/sim-s)
flow us1->us2 (local)   delivered 798999 packets (798999/sim-s)
RESULT scheduler=ns3::MapScheduler wanOnly=0 simSeconds=1.000 setupWall=0.014 runWall=14.625 simPerWall=0.0684 events=2985326 eventsPerWall=204120 packetsDelivered=987295 packetsPerWall=67506
`;

describe('the ns-3 peer [BENCH-N1, N3]', () => {
  it("[BENCH-N3] reads ns-3's own timing line", () => {
    const r = parseNs3Result(OUTPUT);
    expect(r).toEqual({
      simSeconds: 1,
      setupWallSeconds: 0.014,
      runWallSeconds: 14.625,
      simPerWall: 0.0684,
      events: 2985326,
      packetsDelivered: 987295,
      line: expect.stringMatching(/^RESULT scheduler=/),
    });
  });

  it('[BENCH-N3] no RESULT line, or one missing a figure, is null (the bench then says the run failed)', () => {
    expect(parseNs3Result('flow us1->eu1 (WAN) delivered 1 packets\n')).toBeNull();
    expect(parseNs3Result(OUTPUT.replace('simPerWall=0.0684 ', ''))).toBeNull();
    expect(parseNs3Result(OUTPUT.replace('runWall=14.625', 'runWall=nan'))).toBeNull();
  });

  it("[BENCH-N1] ns-3 is installed when Debian's core library is there; its version from the name", () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshtwin-ns3lib-'));
    expect(ns3Installed(dir)).toBeNull();
    expect(ns3Installed(join(dir, 'missing'))).toBeNull();
    writeFileSync(join(dir, 'libns3-network.so.37'), '');
    expect(ns3Installed(dir)).toBeNull();
    writeFileSync(join(dir, 'libns3-core.so.37'), '');
    expect(ns3Installed(dir)).toBe('3.37');
    const other = mkdtempSync(join(tmpdir(), 'meshtwin-ns3lib-'));
    writeFileSync(join(other, 'libns3.40-core-default.so'), '');
    expect(ns3Installed(other)).toBe('3.40');
  });

  it('[BENCH-N1] the peer is beside the checkout, and the message says how to install it from there', () => {
    expect(defaultPeerDir('/work/wt-bench')).toBe('/work/shared/peers/ns3');
    expect(notInstalledReason('/work/wt-bench', '/work/shared/peers/ns3')).toBe('ns-3 not installed (run ../shared/peers/ns3/run.sh once to install it as root)');
  });
});
