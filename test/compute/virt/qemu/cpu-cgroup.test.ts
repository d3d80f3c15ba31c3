/**
 * The CPU cgroup of a guest: detection of v1, v2 or none in a scratch directory laid out like
 * /sys/fs/cgroup, the values each version gets, and the files a guest's limits are written to.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  confineToCpuCgroup,
  cpuCgroupValues,
  detectCpuCgroup,
  removeCpuCgroup,
  sharesToWeight,
} from '../../../../src/compute/virt/qemu/cpu-cgroup.ts';

const scratch: string[] = [];
after(async () => {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
});

async function root(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'stratus-cgroup-'));
  scratch.push(dir);
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
  return dir;
}

describe('cpu cgroup', () => {
  it('prefers a v1 cpu hierarchy', async () => {
    const dir = await root({ 'cpu/cpu.cfs_quota_us': '-1', 'unified/cgroup.controllers': 'cpu memory' });
    const found = await detectCpuCgroup(dir);
    assert.deepEqual(found.controller, { version: 'v1', parent: join(dir, 'cpu', 'stratus') });
  });

  it('uses v2 when its controllers list cpu, delegating cpu to the children', async () => {
    const dir = await root({ 'cgroup.controllers': 'cpuset cpu io memory', 'cgroup.subtree_control': '' });
    const found = await detectCpuCgroup(dir);
    assert.deepEqual(found.controller, { version: 'v2', parent: join(dir, 'stratus') });
    assert.equal(await readFile(join(dir, 'cgroup.subtree_control'), 'utf8'), '+cpu');
  });

  it('reports why when there is no cpu controller (the v2 here has none)', async () => {
    const dir = await root({ 'unified/cgroup.controllers': 'memory pids' });
    const found = await detectCpuCgroup(dir);
    assert.equal(found.controller, null);
    assert.match(
      !found.controller ? found.reason : '',
      /no cgroup v1 cpu controller.*cgroup v2 at .*unified has no cpu/,
    );
  });

  it('gives the quota per vCPU, as libvirt does, and the period first', () => {
    assert.deepEqual(cpuCgroupValues('v1', { quota: 25000, period: 50000, shares: 512 }, 2), [
      ['cpu.cfs_period_us', '50000'],
      ['cpu.cfs_quota_us', '50000'],
      ['cpu.shares', '512'],
    ]);
    assert.deepEqual(cpuCgroupValues('v2', { quota: 25000, period: null, shares: 1024 }, 2), [
      ['cpu.max', '50000 100000'],
      ['cpu.weight', '100'],
    ]);
    assert.deepEqual(cpuCgroupValues('v2', { quota: null, period: 20000, shares: null }, 1), [
      ['cpu.max', 'max 20000'],
    ]);
  });

  it('maps v1 shares onto v2 weights, the defaults meeting, clamped to the v2 range', () => {
    assert.equal(sharesToWeight(1024), 100);
    assert.equal(sharesToWeight(2048), 200);
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(262144), 10000);
  });

  it('writes the limits and the process into the guest cgroup, and removes it and the empty parent', async () => {
    const dir = await root({ 'cgroup.controllers': 'cpu', 'cgroup.subtree_control': 'cpu' });
    const found = await detectCpuCgroup(dir);
    assert.ok(found.controller);
    const path = await confineToCpuCgroup(
      found.controller,
      'u-1',
      4242,
      { quota: 10000, period: null, shares: null },
      1,
    );
    assert.equal(path, join(dir, 'stratus', 'instance-u-1'));
    assert.equal(await readFile(join(path, 'cpu.max'), 'utf8'), '10000 100000');
    assert.equal(await readFile(join(path, 'cgroup.procs'), 'utf8'), '4242');
    // A real cgroup directory holds only kernel files; a scratch one must be emptied before rmdir.
    for (const f of ['cpu.max', 'cgroup.procs']) await rm(join(path, f));
    await rm(join(dir, 'stratus', 'cgroup.subtree_control'));
    await removeCpuCgroup(found.controller, 'u-1');
    await assert.rejects(readFile(join(dir, 'stratus', 'instance-u-1', 'cpu.max')));
    await assert.rejects(readFile(join(dir, 'stratus', 'cgroup.subtree_control')));
    await removeCpuCgroup(found.controller, 'u-1');
  });

  it("names a host's guest cgroups after the host too, so two hosts' qemus of one guest keep apart", async () => {
    const dir = await root({ 'cgroup.controllers': 'cpu', 'cgroup.subtree_control': 'cpu' });
    const found = await detectCpuCgroup(dir);
    assert.ok(found.controller);
    const quota = { quota: null, period: null, shares: null };
    const a = await confineToCpuCgroup({ ...found.controller, host: 'a' }, 'u-1', 1, quota, 1);
    const b = await confineToCpuCgroup({ ...found.controller, host: 'b' }, 'u-1', 2, quota, 1);
    assert.equal(a, join(dir, 'stratus', 'instance-a-u-1'));
    assert.equal(b, join(dir, 'stratus', 'instance-b-u-1'));
    assert.equal(await readFile(join(a, 'cgroup.procs'), 'utf8'), '1');
    assert.equal(await readFile(join(b, 'cgroup.procs'), 'utf8'), '2');
  });
});
