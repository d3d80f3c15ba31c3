import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { freePort, reserve, RESERVATIONS } from './free-port.ts';

/** A port number no draw takes (above the drawn range), for the reservation cases. */
const PROBE = 61_500;

describe('freePort', () => {
  it('answers ports no other test process holds, reserved for this one', async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    assert.equal(new Set(ports).size, ports.length);
    for (const port of ports) assert.equal(readFileSync(join(RESERVATIONS, String(port)), 'utf8'), String(process.pid));
  });

  it("refuses a port a live process holds and takes over a dead process's", () => {
    const file = join(RESERVATIONS, String(PROBE));
    rmSync(file, { force: true });
    writeFileSync(file, String(process.ppid));
    assert.equal(reserve(PROBE), false, 'held by a live process');
    const dead = spawnSync(process.execPath, ['-e', '']).pid!;
    writeFileSync(file, String(dead));
    assert.equal(reserve(PROBE), true, 'its holder is gone');
    assert.equal(readFileSync(file, 'utf8'), String(process.pid));
    rmSync(file, { force: true });
    assert.ok(!existsSync(`${file}.stale.${process.pid}`));
  });
});
