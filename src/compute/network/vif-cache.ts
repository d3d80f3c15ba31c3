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
 *
 * This host's compute service is the only writer of its directory, so what it wrote or read once is kept
 * in memory too: a security group member change reads every guest's record, which from the files would
 * cost a read and a parse per guest, for each change, during a storm of builds.
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
  /** The records as last written or read by this process (absent: not known yet, read the file). */
  private readonly known = new Map<string, NetworkInfo>();
  /**
   * Counts the starts and ends of writes and removes: a file read while one ran may be older than what
   * it wrote (or still there after it removed it), so is returned but not kept.
   */
  private changes = 0;

  private directoryMade = false;

  constructor(readonly directory: string) {}

  private async makeDirectory(): Promise<void> {
    await mkdir(this.directory, { recursive: true });
    this.directoryMade = true;
  }

  /** The guest's interfaces as last recorded here; null if none are. */
  async read(uuid: string): Promise<NetworkInfo | null> {
    const known = this.known.get(uuid);
    if (known) return known;
    const changes = this.changes;
    const read = await this.readFile(uuid);
    if (read && changes === this.changes) this.known.set(uuid, read);
    return read;
  }

  private async readFile(uuid: string): Promise<NetworkInfo | null> {
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
    this.changes++;
    const temporary = `${this.file(uuid)}.${process.pid}.tmp`;
    const text = JSON.stringify(networkInfo);
    // The directory is made once, not before every write (a recursive mkdir costs more than the write);
    // made again if it went since.
    if (!this.directoryMade) await this.makeDirectory();
    try {
      await writeFile(temporary, text);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await this.makeDirectory();
      await writeFile(temporary, text);
    }
    await rename(temporary, this.file(uuid));
    this.known.set(uuid, networkInfo);
    this.changes++;
  }

  async remove(uuid: string): Promise<void> {
    this.changes++;
    this.known.delete(uuid);
    await rm(this.file(uuid), { force: true });
    this.changes++;
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
