/**
 * The host's `uptime` line (time, how long since boot, users, load averages), which os-hypervisors shows
 * as the hypervisor's uptime. Nova's libvirt driver runs the same command when the API asks over RPC;
 * here the compute host sends the line with each resource report instead (in the node's stats), so the
 * API answers from the database without a call to the host.
 */
import { execFile } from 'node:child_process';

/** The line as `uptime` prints it (procps' leading space kept), or null where the command fails. */
export function hostUptimeLine(): Promise<string | null> {
  return new Promise((resolve) => {
    // LANG=C: the load averages with a dot, whatever the host's locale.
    execFile('uptime', [], { env: { ...process.env, LANG: 'C', LC_ALL: 'C' }, timeout: 2000 }, (err, stdout) => {
      const line = stdout.replace(/\n+$/, '');
      resolve(err || !line.trim() ? null : line);
    });
  });
}
