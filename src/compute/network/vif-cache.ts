/**
 * What this compute host knows of each guest's interfaces, without a database: one small JSON file per
 * guest (`<uuid>.json`, its NetworkInfo) under `[compute] vif_cache_directory`/<host>. The manager writes
 * it whenever a guest's interfaces change here (build, attach, detach, a change from the network
 * service), so that a restarted compute can rebuild the datapath of every guest (reconcile) and a delete
 * knows which ports to unplug even when the message that deletes names none.
 *
 * A file is replaced by rename, so a crash leaves the old or the new list, never half of one. A file that
 * does not parse as a NetworkInfo is reported as absent (and logged): the network service still has the
 * truth, and the next change writes it again.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Compile } from 'typebox/compile';
import { getLogger } from '../../common/log/logger.ts';
import { NetworkInfoSchema, type NetworkInfo } from '../../wire/messages/network-info.ts';

const log = getLogger('compute.network');

/** A name that can only be a file of this directory (instance uuids are): no separators, no dots. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const networkInfoCheck = Compile(NetworkInfoSchema);

export class VifCache {
  constructor(readonly directory: string) {}

  /** The guest's interfaces as last recorded here; null if none are. */
  async read(uuid: string): Promise<NetworkInfo | null> {
    let text: string;
    try {
      text = await readFile(this.file(uuid), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!networkInfoCheck.Check(parsed)) {
      log.warn({ instance: uuid, file: this.file(uuid) }, 'the cached interfaces of a guest do not parse; ignored');
      return null;
    }
    return parsed;
  }

  /** Records the guest's interfaces (all of them, in the guest's order); an empty list removes the file. */
  async write(uuid: string, networkInfo: NetworkInfo): Promise<void> {
    if (networkInfo.length === 0) return this.remove(uuid);
    await mkdir(this.directory, { recursive: true });
    const temporary = `${this.file(uuid)}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(networkInfo));
    await rename(temporary, this.file(uuid));
  }

  async remove(uuid: string): Promise<void> {
    await rm(this.file(uuid), { force: true });
  }

  /** The guests with recorded interfaces. */
  async guests(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.directory);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.flatMap((name) => {
      const uuid = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
      return SAFE_NAME.test(uuid) ? [uuid] : [];
    });
  }

  private file(uuid: string): string {
    if (!SAFE_NAME.test(uuid)) throw new Error(`not an instance id: ${JSON.stringify(uuid)}`);
    return join(this.directory, `${uuid}.json`);
  }
}
