/**
 * Benchmark `resize`: a user resizes a server and confirms it, through the REST API of all-in-one (one
 * host, `allow_resize_to_same_host`), one server at a time.
 *   npm run bench -- resize [--driver fake|qemu] [--servers 20 (fake) or 3 (qemu)]
 * For each server (booted beforehand; with qemu, the demo guest up to its console marker): the time
 * from POST resize (to a flavor with one more vCPU, more memory and a larger disk) until GET shows
 * VERIFY_RESIZE, and from POST confirmResize until GET shows ACTIVE with no task; each polled every 10 ms.
 * Figures: p50/p95 of each over the servers, in milliseconds.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminJsonHeaders, createRawImage, startAllInOne } from '../test/helpers/deployments.ts';
import { GUEST_MARKER } from '../test/helpers/guest-image.ts';
import { percentile, round } from './stats.ts';

const say = (msg: string) => process.stderr.write(`[resize] ${msg}\n`);

interface ServerView {
  status: string;
  'OS-EXT-STS:task_state': string | null;
  fault?: { message: string };
}

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const driver = args['driver'] ?? 'fake';
  if (driver !== 'fake' && driver !== 'qemu') throw new Error(`--driver is fake or qemu, not ${driver}`);
  const servers = Number(args['servers'] ?? (driver === 'qemu' ? 3 : 20));
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-resize-'));
  const cleanup: (() => Promise<void>)[] = [];
  try {
    const d = await startAllInOne(dir, cleanup, {
      driver,
      // Every server is resized on its own host (there is one), and all of them fit at their larger flavor.
      lines: ['allow_resize_to_same_host = true', `cpu_allocation_ratio = ${Math.max(16, 2 * servers)}`],
    });
    const { env, computeUrl: compute, cli } = d;
    const headers = await adminJsonHeaders(env);
    await cli.ok('flavor', 'create', '--id', 'rs-small', '--vcpus', '1', '--ram', '128', '--disk', '1', 'rs.small');
    await cli.ok('flavor', 'create', '--id', 'rs-big', '--vcpus', '2', '--ram', '192', '--disk', '2', 'rs.big');
    const imageRef =
      driver === 'qemu'
        ? (await cli.json<{ id: string }>('image', 'show', 'stratus-guest')).id
        : await createRawImage(cli, dir, 'rs-image', 1 << 16);

    const show = async (id: string): Promise<ServerView> => {
      const r = await fetch(`${compute}/servers/${id}`, { headers });
      return ((await r.json()) as { server: ServerView }).server;
    };
    /** Polls until the server shows `status` with no task; ERROR (or a 30 min stall) fails the run. */
    const until = async (id: string, status: string): Promise<void> => {
      const deadline = Date.now() + 30 * 60_000;
      for (;;) {
        const s = await show(id);
        if (s.status === status && s['OS-EXT-STS:task_state'] === null) return;
        if (s.status === 'ERROR') throw new Error(`server ${id} went to ERROR: ${s.fault?.message ?? 'no fault'}`);
        if (Date.now() > deadline) throw new Error(`server ${id} stayed ${s.status}, not ${status}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const action = async (id: string, body: unknown, expected: number): Promise<void> => {
      const r = await fetch(`${compute}/servers/${id}/action`, { method: 'POST', headers, body: JSON.stringify(body) });
      if (r.status !== expected) throw new Error(`POST action of ${id} answered ${r.status}: ${await r.text()}`);
    };
    const booted = async (id: string): Promise<void> => {
      if (driver !== 'qemu') return;
      const deadline = Date.now() + 10 * 60_000;
      for (;;) {
        const r = await fetch(`${compute}/servers/${id}/action`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ 'os-getConsoleOutput': {} }),
        });
        if (((await r.json()) as { output: string }).output.includes(GUEST_MARKER)) return;
        if (Date.now() > deadline) throw new Error(`guest ${id} printed no ${GUEST_MARKER} in 10 minutes`);
        await new Promise((res) => setTimeout(res, 200));
      }
    };

    say(`booting ${servers} ${driver} servers`);
    const ids: string[] = [];
    for (let i = 0; i < servers; i++) {
      const r = await fetch(`${compute}/servers`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ server: { name: `rs${i}`, flavorRef: 'rs-small', imageRef } }),
      });
      if (r.status !== 202) throw new Error(`POST /servers answered ${r.status}: ${await r.text()}`);
      ids.push(((await r.json()) as { server: { id: string } }).server.id);
    }
    for (const id of ids) {
      await until(id, 'ACTIVE');
      await booted(id);
    }

    say('resizing and confirming one server at a time');
    const toVerify: number[] = [];
    const toActive: number[] = [];
    for (const id of ids) {
      const t0 = performance.now();
      await action(id, { resize: { flavorRef: 'rs-big' } }, 202);
      await until(id, 'VERIFY_RESIZE');
      toVerify.push(performance.now() - t0);
      const t1 = performance.now();
      await action(id, { confirmResize: null }, 204);
      await until(id, 'ACTIVE');
      toActive.push(performance.now() - t1);
    }
    say(
      `resize to VERIFY_RESIZE p50 ${percentile(toVerify, 50, 0)} ms, confirm to ACTIVE p50 ${percentile(toActive, 50, 0)} ms`,
    );
    for (const id of ids) await fetch(`${compute}/servers/${id}`, { method: 'DELETE', headers });
    for (const id of ids) {
      while ((await fetch(`${compute}/servers/${id}`, { headers })).status !== 404) {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    return {
      driver,
      servers,
      resize_to_verify_ms_p50: round(percentile(toVerify, 50), 1),
      resize_to_verify_ms_p95: round(percentile(toVerify, 95), 1),
      confirm_to_active_ms_p50: round(percentile(toActive, 50), 1),
      confirm_to_active_ms_p95: round(percentile(toActive, 95), 1),
    };
  } finally {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
