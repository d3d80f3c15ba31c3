import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { probeKernelBanner } from '../../../../src/compute/virt/qemu/accel-probe.ts';

// Stand-ins for the emulator: the probe's verdict rests only on what reaches the serial console (stdout).
describe('the KVM probe that boots a kernel', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stratus-accel-probe-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const emulator = (name: string, script: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${script}\n`);
    chmodSync(path, 0o755);
    return path;
  };

  it('trusts KVM when the kernel prints its banner, even split across writes', async () => {
    const qemu = emulator(
      'banner',
      "printf 'Probing EDD... ok\\r\\n[ 0.000000] Linux '; sleep 0.2; printf 'version 6.1\\n'; sleep 30",
    );
    assert.deepEqual(await probeKernelBanner(qemu, '/boot/vmlinuz', 5_000), { ok: true, detail: '' });
  });

  it('refuses KVM when the kernel hangs before its banner', async () => {
    const qemu = emulator('hang', "printf 'Probing EDD (edd=off to disable)... ok\\n'; sleep 30");
    const result = await probeKernelBanner(qemu, '/boot/vmlinuz', 300);
    assert.equal(result.ok, false);
    assert.match(result.detail, /printed nothing under KVM within 300 ms/);
  });

  it('refuses KVM when the emulator exits first', async () => {
    const result = await probeKernelBanner(emulator('abort', 'echo "kvm: unsupported" >&2; exit 1'), '/k', 5_000);
    assert.equal(result.ok, false);
    assert.match(result.detail, /qemu exited \(1\)/);
  });
});
