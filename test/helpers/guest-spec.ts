/**
 * A guest's spec, files and machine for tests of the qemu command line (qemuArguments): one root disk,
 * no kernel of its own, no NICs, TCG. Tests override the part they are about.
 */
import type { GuestSpec } from '../../src/compute/virt/qemu/guest-spec.ts';

export function testGuestSpec(overrides: Partial<GuestSpec> = {}): GuestSpec {
  return {
    uuid: 'c0ffee00-0000-4000-8000-000000000001',
    nodename: 'node',
    vcpus: 1,
    memoryMb: 128,
    disks: [{ path: '/g/disk', format: 'qcow2', role: 'root' }],
    diskDirectory: '/g',
    kernel: null,
    ramdisk: null,
    commandLine: null,
    baseFiles: [],
    ...overrides,
  };
}

export const TEST_GUEST_FILES = {
  qmpSocket: '/g/qmp.sock',
  agentSocket: '/g/qga.sock',
  pidfile: '/g/qemu.pid',
  consoleLog: '/g/console.log',
};

export const TCG_MACHINE = { accel: 'tcg' as const, machineType: 'pc', tbSizeMb: 0 };
