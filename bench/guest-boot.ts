/**
 * Benchmark `guest-boot`: real guests with the qemu driver on all-in-one, through the REST API.
 *   npm run bench -- guest-boot [--singles 10] [--concurrent 10] [--big-mb 1024]
 * Reports, once the demo guest's images are cached: POST /servers to ACTIVE (p50, p99) for one guest at a
 * time, and POST to the console marker; N guests created at once until all are ACTIVE (each seen by one
 * list request every 20 ms; the median and the last) and all printed their marker; POST to ACTIVE from
 * a 10 MiB and a --big-mb raw base image (the disk is an overlay, so this must not grow with the image);
 * qemu's resident memory per guest (128 MiB flavor) once booted.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { adminJsonHeaders, startAllInOne } from '../test/helpers/deployments.ts';
import { GUEST_MARKER } from '../test/helpers/guest-image.ts';
import { percentile } from './stats.ts';

const say = (msg: string) => process.stderr.write(`[guest-boot] ${msg}\n`);

export async function run(args: Record<string, string>): Promise<Record<string, unknown>> {
  const singles = Number(args['singles'] ?? 10);
  const concurrent = Number(args['concurrent'] ?? 10);
  const bigMb = Number(args['big-mb'] ?? 1024);
  const dir = mkdtempSync(join(tmpdir(), 'stratus-bench-guest-'));
  const cleanup: (() => Promise<void>)[] = [];
  try {
    // Two host CPUs at the default ratio of 4 hold 8 one-vCPU guests: the ratio is raised so that the
    // concurrent run's guests all fit (at least 16, as before).
    const ratio = Math.max(16, Math.ceil((concurrent + 1) / cpus().length));
    const d = await startAllInOne(dir, cleanup, { driver: 'qemu', lines: [`cpu_allocation_ratio = ${ratio}`] });
    const { env, computeUrl: compute } = d;
    const headers = await adminJsonHeaders(env);
    await d.cli.ok('flavor', 'create', '--id', 'gb', '--vcpus', '1', '--ram', '128', '--disk', '2', 'guest.bench');
    const guestImage = (await d.cli.json<{ id: string }>('image', 'show', 'stratus-guest')).id;

    const post = async (name: string, imageRef: string): Promise<string> => {
      const r = await fetch(`${compute}/servers`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ server: { name, flavorRef: 'gb', imageRef } }),
      });
      if (r.status !== 202) throw new Error(`POST /servers answered ${r.status}: ${await r.text()}`);
      return ((await r.json()) as { server: { id: string } }).server.id;
    };
    const status = async (id: string) =>
      ((await (await fetch(`${compute}/servers/${id}`, { headers })).json()) as { server: { status: string } }).server
        .status;
    const untilActive = async (id: string) => {
      for (;;) {
        const s = await status(id);
        if (s === 'ACTIVE') return;
        if (s === 'ERROR') throw new Error(`server ${id} went to ERROR`);
        await new Promise((r) => setTimeout(r, 5));
      }
    };
    const untilMarker = async (id: string, everyMs = 100) => {
      // A guest that never prints its marker fails the run instead of stalling it.
      const deadline = Date.now() + 10 * 60_000;
      for (;;) {
        if (Date.now() > deadline) throw new Error(`guest ${id} printed no ${GUEST_MARKER} in 10 minutes`);
        const r = await fetch(`${compute}/servers/${id}/action`, {
          method: 'POST',
          headers,
          body: JSON.stringify({ 'os-getConsoleOutput': {} }),
        });
        if (((await r.json()) as { output: string }).output.includes(GUEST_MARKER)) return;
        await new Promise((res) => setTimeout(res, everyMs));
      }
    };
    const remove = async (ids: string[]) => {
      for (const id of ids) await fetch(`${compute}/servers/${id}`, { method: 'DELETE', headers });
      for (const id of ids) {
        while ((await fetch(`${compute}/servers/${id}`, { headers })).status !== 404) {
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    };
    const untilAllActive = async (ids: string[], since: number): Promise<number[]> => {
      const at = new Map<string, number>();
      while (at.size < ids.length) {
        const r = await fetch(`${compute}/servers/detail?limit=${ids.length + 10}`, { headers });
        const { servers } = (await r.json()) as { servers: { id: string; status: string }[] };
        for (const s of servers) {
          if (!ids.includes(s.id) || at.has(s.id)) continue;
          if (s.status === 'ERROR') {
            const shown = await fetch(`${compute}/servers/${s.id}`, { headers });
            const { fault } = ((await shown.json()) as { server: { fault?: { message: string } } }).server;
            throw new Error(`server ${s.id} went to ERROR: ${fault?.message ?? 'no fault recorded'}`);
          }
          if (s.status === 'ACTIVE') at.set(s.id, performance.now() - since);
        }
        await new Promise((res) => setTimeout(res, 20));
      }
      return ids.map((id) => at.get(id)!);
    };
    const timeBoot = async (name: string, imageRef: string) => {
      const t = performance.now();
      const id = await post(name, imageRef);
      await untilActive(id);
      return { id, activeMs: performance.now() - t, start: t };
    };

    say('warm-up boot (fills the image cache)');
    const warm = await timeBoot('warm', guestImage);
    await untilMarker(warm.id);
    await remove([warm.id]);

    say(`${singles} guests one at a time`);
    const activeMs: number[] = [];
    const markerMs: number[] = [];
    for (let i = 0; i < singles; i++) {
      const b = await timeBoot(`single${i}`, guestImage);
      activeMs.push(b.activeMs);
      await untilMarker(b.id);
      markerMs.push(performance.now() - b.start);
      await remove([b.id]);
    }

    say(`${concurrent} guests at once`);
    const t0 = performance.now();
    const ids = await Promise.all(Array.from({ length: concurrent }, (_, i) => post(`many${i}`, guestImage)));
    // One list request every 20 ms watches them all: a poller per guest would load the very process
    // (all-in-one: api and compute together) whose builds are being timed.
    const activeAt = await untilAllActive(ids, t0);
    const allActiveMs = Math.max(...activeAt);
    await Promise.all(ids.map((id) => untilMarker(id, 500)));
    const allMarkersMs = performance.now() - t0;
    const rssKb = ids.map((id) => {
      const pid = Number(readFileSync(join(dir, 'instances', id, 'qemu.pid'), 'utf8'));
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    });
    await remove(ids);

    say(`10 MiB and ${bigMb} MiB raw base images`);
    const sizes: Record<string, number> = {};
    for (const [label, mb] of [
      ['10MiB', 10],
      [`${bigMb}MiB`, bigMb],
    ] as const) {
      const file = join(dir, `base-${mb}.raw`);
      writeFileSync(file, Buffer.alloc(0));
      const fd = Buffer.alloc(1024 * 1024, 1);
      for (let i = 0; i < mb; i++) writeFileSync(file, fd, { flag: 'a' });
      const image = await d.cli.json<{ id: string }>(
        ...['image', 'create', '--file', file, '--disk-format', 'raw', '--container-format', 'bare', `base-${mb}`],
      );
      rmSync(file);
      const warmBig = await timeBoot(`warm-${mb}`, image.id); // downloads into the cache
      await remove([warmBig.id]);
      const runs: number[] = [];
      for (let i = 0; i < 5; i++) {
        const b = await timeBoot(`size-${mb}-${i}`, image.id);
        runs.push(b.activeMs);
        await remove([b.id]);
      }
      sizes[label] = percentile(runs, 50, 0);
    }

    return {
      hypervisor_type: (await d.cli.json<{ 'Hypervisor Type': string }[]>('hypervisor', 'list'))[0]?.[
        'Hypervisor Type'
      ],
      single_active_ms: { p50: percentile(activeMs, 50, 0), p99: percentile(activeMs, 99, 0), n: singles },
      single_marker_ms: { p50: percentile(markerMs, 50, 0), p99: percentile(markerMs, 99, 0), n: singles },
      concurrent: {
        guests: concurrent,
        active_ms_p50: percentile(activeAt, 50, 0),
        all_active_ms: Math.round(allActiveMs),
        all_markers_ms: Math.round(allMarkersMs),
        qemu_rss_mb_avg: Math.round(rssKb.reduce((a, b) => a + b, 0) / rssKb.length / 1024),
      },
      active_ms_p50_by_base_size: sizes,
    };
  } finally {
    for (const fn of cleanup) await fn().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
