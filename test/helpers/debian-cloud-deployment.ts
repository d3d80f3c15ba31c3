/**
 * All-in-one with the qemu driver, an outside world (a network namespace reaching the external network),
 * and the Debian 12 cloud image uploaded as an operator uploads an AMI-style one: kernel, ramdisk, then the
 * root disk naming both (`debian-12`, with `imageProperties` besides). A private network routed to the
 * external one, a 512 MiB flavor `deb.small`, and port 22 open in the default security group. For the
 * end-to-end tests and the benchmark that log in to a real cloud guest over SSH; or the same cloud, image
 * and flavor without any network, for guests that read only their config drive.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { GuestImageFiles } from '../../src/runtime/guest-image.ts';
import { startAllInOne, type Deployment } from './deployments.ts';
import { CLOUD_INIT_FINISHED, DEBIAN_BOOT_WAIT_MS, debianCloudImage } from './debian-cloud-image.ts';
import type { OpenstackCli } from './openstack-cli.ts';
import { createExternalNetwork, makeOutsideWorld, type OutsideWorld } from './outside-world.ts';
import { waitUntil } from './processes.ts';

const run = promisify(execFile);

export interface DebianCloud {
  d: Deployment;
  world: OutsideWorld;
}

export async function startDebianCloud(
  dir: string,
  cleanup: (() => Promise<void>)[],
  options: { imageProperties?: Record<string, string>; subnet?: string } = {},
): Promise<DebianCloud> {
  const world = await makeOutsideWorld(cleanup);
  const files = await debianCloudImage();
  const d = await startAllInOne(dir, cleanup, {
    driver: 'qemu',
    datapath: { namespace: world.datapathNs, physicalInterfaceMappings: [`extnet:${world.uplink}`] },
  });
  const { cli } = d;
  await uploadDebianCloudImage(cli, files, options.imageProperties);
  await createExternalNetwork(cli);
  await cli.ok('network', 'create', 'private');
  const range = options.subnet ?? '192.168.61.0/24';
  await cli.ok('subnet', 'create', '--network', 'private', '--subnet-range', range, 'private-v4');
  await cli.ok('router', 'create', 'router');
  await cli.ok('router', 'set', '--external-gateway', 'public', 'router');
  await cli.ok('router', 'add', 'subnet', 'router', 'private-v4');
  await cli.ok('security', 'group', 'rule', 'create', '--protocol', 'tcp', '--dst-port', '22', 'default');
  return { d, world };
}

/**
 * All-in-one with the qemu driver and the image and flavor of `startDebianCloud`, but no datapath and no
 * networks: for guests booted with `--nic none`, which reach nothing and read only their config drive.
 */
export async function startDebianCloudWithoutNetworks(
  dir: string,
  cleanup: (() => Promise<void>)[],
): Promise<Deployment> {
  const files = await debianCloudImage();
  const d = await startAllInOne(dir, cleanup, { driver: 'qemu' });
  await uploadDebianCloudImage(d.cli, files);
  return d;
}

/** The image (kernel, ramdisk, then `debian-12` naming both) and the flavor `deb.small`. */
async function uploadDebianCloudImage(
  cli: OpenstackCli,
  files: GuestImageFiles,
  imageProperties: Record<string, string> = {},
): Promise<void> {
  const upload = async (name: string, format: string, file: string, properties: string[] = []) => {
    const container = format === 'qcow2' ? 'bare' : format;
    const args = ['--disk-format', format, '--container-format', container, '--file', file, '--public'];
    return (await cli.json<{ id: string }>('image', 'create', ...args, ...properties, name)).id;
  };
  const kernel = await upload('debian-12-kernel', 'aki', files.kernel);
  const ramdisk = await upload('debian-12-ramdisk', 'ari', files.ramdisk);
  const extra = Object.entries(imageProperties).flatMap(([k, v]) => ['--property', `${k}=${v}`]);
  await upload('debian-12', 'qcow2', files.root, [
    ...['--property', `kernel_id=${kernel}`, '--property', `ramdisk_id=${ramdisk}`],
    ...['--property', `os_command_line=${files.commandLine}`],
    ...extra,
  ]);
  await cli.ok('flavor', 'create', '--vcpus', '1', '--ram', '512', '--disk', '3', 'deb.small');
}

/** `openstack keypair create --private-key`: the private key saved in `dir`, readable by its owner only. */
export async function createKeyPair(d: Deployment, dir: string, name: string): Promise<string> {
  const key = join(dir, `${name}.pem`);
  await d.cli.ok('keypair', 'create', '--private-key', key, name);
  // The CLI saves it readable by all, which ssh refuses to use.
  chmodSync(key, 0o600);
  return key;
}

/** Runs `command` as debian@`address` over SSH with `key`, from the outside world; its stdout. */
export function sshFromOutside(world: OutsideWorld, key: string, address: string, command: string): Promise<string> {
  return run(
    'ip',
    [
      ...['netns', 'exec', world.outsideNs, 'ssh', '-i', key, '-o', 'BatchMode=yes'],
      ...['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5'],
      ...['-o', 'LogLevel=ERROR', `debian@${address}`, command],
    ],
    { timeout: 60_000 },
  ).then((r) => r.stdout);
}

/**
 * The fingerprint cloud-init's ssh_authkey_fingerprints module prints on the console for an authorized key
 * (its default authkey_hash sha256): the SHA-256 of the key's decoded blob as lower-case hex pairs joined
 * by colons, neither OpenSSH's `SHA256:<base64>` nor the MD5 form of `openstack keypair show`.
 */
export function cloudInitFingerprint(publicKey: string): string {
  const blob = Buffer.from(publicKey.trim().split(/\s+/)[1] ?? '', 'base64');
  return createHash('sha256').update(blob).digest('hex').match(/../g)!.join(':');
}

/** A server's console log through the API (os-getConsoleOutput): its last 100 KiB. */
export async function consoleOutput(cli: OpenstackCli, serverId: string): Promise<string> {
  const { session, computeUrl } = await cli.rest();
  const { body } = await session.request<{ output?: string }>('POST', `${computeUrl}/servers/${serverId}/action`, {
    'os-getConsoleOutput': {},
  });
  return body?.output ?? '';
}

/**
 * Waits until the console log shows `expected` and, after it, cloud-init's final line. Polled over REST
 * every few seconds: a CLI call per poll would cost the loaded machine a Python start each time.
 */
export function waitForCloudInitAfter(
  cli: OpenstackCli,
  serverId: string,
  expected: string,
  timeoutMs = DEBIAN_BOOT_WAIT_MS,
): Promise<true> {
  return waitUntil(
    `cloud-init's end after ${JSON.stringify(expected)} on the console of ${serverId}`,
    async () => {
      const text = await consoleOutput(cli, serverId);
      const at = text.lastIndexOf(expected);
      if (at >= 0 && CLOUD_INIT_FINISHED.test(text.slice(at))) return true;
      await new Promise((r) => setTimeout(r, 3000));
      return false;
    },
    timeoutMs,
  );
}
