/**
 * examples/k8s/: the Indexed Job and the merge Job parse, agree with each other (N shards, the
 * same folders on the same volume), and each shard's arguments are accepted by the real
 * `meshtwin sweep` (--dry-run). No cluster here: this is as far as the manifests are tested.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

type Obj = Record<string, any>;

function docs(file: string): Obj[] {
  const all = parseAllDocuments(readFileSync(file, 'utf8'));
  if (!Array.isArray(all)) throw new Error(`${file}: no documents`);
  for (const d of all) expect(d.errors, file).toEqual([]);
  return all.map((d) => d.toJS() as Obj);
}

describe('examples/k8s', () => {
  const sweep = docs('examples/k8s/sweep-job.yaml');
  const merge = docs('examples/k8s/merge-job.yaml');
  const job = sweep.find((d) => d.kind === 'Job') as Obj;
  const claim = sweep.find((d) => d.kind === 'PersistentVolumeClaim') as Obj;
  const container = job.spec.template.spec.containers[0] as Obj;
  const args = container.args as string[];
  const n = job.spec.completions as number;

  it('an Indexed Job of N pods, each running shard $(JOB_COMPLETION_INDEX)/N into its own folder on a shared volume', () => {
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.spec.completionMode).toBe('Indexed');
    expect(n).toBeGreaterThan(1);
    expect(job.spec.parallelism).toBe(n);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(args[0]).toBe('sweep');
    expect(args[args.indexOf('--shard') + 1]).toBe(`$(JOB_COMPLETION_INDEX)/${n}`);
    expect(args[args.indexOf('--out') + 1]).toBe('/results/shard-$(JOB_COMPLETION_INDEX)');
    expect(claim.spec.accessModes).toEqual(['ReadWriteMany']);
    expect(job.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe(claim.metadata.name);
    expect(container.volumeMounts[0]).toEqual({ name: job.spec.template.spec.volumes[0].name, mountPath: '/results' });
  });

  it('the merge Job reads every shard folder the sweep writes, from the same claim', () => {
    const m = merge[0] as Obj;
    const c = m.spec.template.spec.containers[0] as Obj;
    expect(c.image).toBe(container.image);
    expect(c.args).toEqual(['merge', '/results/merged', ...Array.from({ length: n }, (_, i) => `/results/shard-${i}`)]);
    expect(m.spec.template.spec.volumes[0].persistentVolumeClaim.claimName).toBe(claim.metadata.name);
  });

  it("a shard's arguments are accepted by meshtwin sweep, and it holds the steps k with k mod N = I", () => {
    const out = mkdtempSync(join(tmpdir(), 'meshtwin-k8s-'));
    // The last shard (one dry run: each plans all of the seed mesh's steps).
    const i = n - 1;
    const a = args.map((x) => x.replaceAll('$(JOB_COMPLETION_INDEX)', String(i)).replace(/^\/results\//, `${out}/`));
    const r = spawnSync(process.execPath, ['bin/meshtwin.js', ...a, '--dry-run'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toContain(` shard=${i}/${n} `);
    const steps = r.stdout.trim().split('\n');
    const total = Number(args[args.indexOf('--steps') + 1]);
    expect(steps).toHaveLength(total);
    expect(steps[0]).toBe('step 1 of 12: publishers[0].rate = 400,000/s (another shard)');
    const own = steps.map((l, k) => (l.endsWith('(another shard)') ? -1 : k)).filter((k) => k >= 0);
    expect(own).toEqual(Array.from({ length: total }, (_, k) => k).filter((k) => k % n === i));
  });
});
