/**
 * What the all-in-one command adds to running every service in one process, so a newcomer can boot a
 * real server at once: the qemu driver when qemu is installed (saying so, or saying why not), a service
 * user for the compute service to fetch images with, and the demo guest image uploaded.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bootstrapIdentity } from '../api/identity/bootstrap.ts';
import { isSetInFiles, type Config } from '../common/config/load-config.ts';
import type { Database } from '../common/db/database.ts';
import { getLogger } from '../common/log/logger.ts';
import { imageClientFromConfig } from '../compute/image/image-client.ts';
import { buildGuestImage, GUEST_IMAGE_NAME, uploadGuestImage } from './guest-image.ts';

const log = getLogger('stratus');
const run = promisify(execFile);

export const COMPUTE_SERVICE_USER = 'stratus-compute';

/** qemu when the config files do not name a driver and qemu-system-x86_64 runs; else what they say, or fake. */
export async function chooseAllInOneDriver(config: Config, files: readonly string[]): Promise<Config> {
  if (isSetInFiles(files, 'DEFAULT', 'compute_driver')) return config;
  const binary = config.qemu.binary;
  const installed = await run(binary, ['--version']).then(
    () => true,
    () => false,
  );
  if (!installed) {
    log.warn(
      `${binary} is not installed: all-in-one FALLS BACK TO THE FAKE DRIVER (servers are simulated, no real ` +
        'guests). For real guests: apt-get install -y qemu-system-x86 qemu-utils busybox-static ' +
        'linux-image-cloud-amd64, then restart',
    );
    return config;
  }
  log.info(`${binary} found: all-in-one runs real guests with the qemu driver (compute_driver = qemu)`);
  return { ...config, DEFAULT: { ...config.DEFAULT, compute_driver: 'qemu' } };
}

/**
 * The compute service fetches images and uploads snapshots as a service user of its own ([glance]
 * username/password), whatever its driver (the fake driver uploads placeholder snapshots too). Unless
 * the operator configured one, all-in-one creates `stratus-compute` (admin role on project `service`) with
 * a password kept in the state directory, readable by the owner only.
 */
export async function ensureComputeServiceUser(database: Database, config: Config): Promise<Config> {
  if (config.glance.username) return config;
  const passwordFile = join(config.DEFAULT.state_path, 'compute-service-password');
  let password = (await readFile(passwordFile, 'utf8').catch(() => '')).trim();
  if (!password) {
    password = randomBytes(18).toString('base64url');
    await writeFile(passwordFile, `${password}\n`, { mode: 0o600 });
  }
  await bootstrapIdentity(database, config, {
    password,
    adminUser: COMPUTE_SERVICE_USER,
    adminProject: 'service',
    adminRole: 'admin',
  });
  return {
    ...config,
    glance: { ...config.glance, username: COMPUTE_SERVICE_USER, password, project_name: 'service' },
  };
}

/** Builds (if missing) and uploads the demo guest; a failure is reported, not fatal. */
export async function offerGuestImage(config: Config): Promise<void> {
  try {
    const files = await buildGuestImage(join(config.DEFAULT.state_path, 'guest-image'));
    const images = imageClientFromConfig(config);
    const { id, uploaded } = await uploadGuestImage(images, files);
    log.info(
      { image: id },
      `${uploaded ? 'uploaded' : 'found'} the demo guest image '${GUEST_IMAGE_NAME}': ` +
        `openstack server create --image ${GUEST_IMAGE_NAME} --flavor m1.tiny --wait demo`,
    );
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'no demo guest image; servers need an image you upload yourself');
  }
}
