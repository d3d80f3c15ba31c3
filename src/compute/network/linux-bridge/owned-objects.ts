/**
 * The host objects the datapath made, kept in a file of the state directory: after a restart the driver
 * still knows which bridges, taps, addresses and dnsmasq instances are its own, so it removes those no
 * port wants any more and never touches devices it did not make.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface OwnedObjects {
  /** Bridges, with the uplink device attached (created: a VLAN sub-interface we made). */
  bridges: { name: string; uplink: string | null; uplinkCreated: boolean }[];
  /** Taps joined to a bridge; created: we made it (else it existed, e.g. a veth end, and is only released). */
  taps: { name: string; created: boolean }[];
  addresses: { device: string; address: string }[];
  /** Network ids with a dnsmasq of ours. */
  dhcpNetworks: string[];
}

export function noObjects(): OwnedObjects {
  return { bridges: [], taps: [], addresses: [], dhcpNetworks: [] };
}

export async function loadOwned(path: string): Promise<OwnedObjects> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (text === null) return noObjects();
  const parsed = JSON.parse(text) as Partial<OwnedObjects>;
  return { ...noObjects(), ...parsed };
}

/** Replaces the file atomically, so a crash leaves the old list or the new one. */
export async function saveOwned(path: string, owned: OwnedObjects): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(owned, null, 2));
  await rename(`${path}.tmp`, path);
}
