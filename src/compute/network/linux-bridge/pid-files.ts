/**
 * The datapath's background processes (dnsmasq, the metadata proxy and its relay) outlive the compute
 * service, so each is found again through a pid file. A pid alone may have been reused by an unrelated
 * process since: one counts as ours only when its command line names a path of ours (`marker`).
 */
import { readFile } from 'node:fs/promises';

/** The pid in `pidFile`, if that process is alive and one of its arguments contains `marker`. */
export async function runningPid(pidFile: string, marker: string): Promise<number | null> {
  const text = await readFile(pidFile, 'utf8').catch(() => null);
  const pid = text === null ? NaN : Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
  return cmdline.split('\0').some((arg) => arg.includes(marker)) ? pid : null;
}

/** Stops that process, if it runs: SIGTERM, then SIGKILL when it has not gone within two seconds. */
export async function stopProcess(pidFile: string, marker: string): Promise<void> {
  const pid = await runningPid(pidFile, marker);
  if (pid === null) return;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100; i++) {
    if ((await runningPid(pidFile, marker)) === null) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  process.kill(pid, 'SIGKILL');
}
