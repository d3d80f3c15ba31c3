/**
 * The ports of a burst of builds, made together: a group commit of network-allocation.ts's
 * allocateForHost for the conductor's first builds.
 *
 * Why: a server on a network cost its build a port create of its own (a transaction with the quota
 * check, the port, its addresses and groups), a write of its NIC and the reads of its NetworkInfo: some
 * fifteen statements beyond a plain server, and a burst of builds spends its CPU on statements (the
 * boot bench, docs/benchmarks.md). In a burst, dozens of builds wait for their allocation at once. So
 * allocations queue here, and each round takes all that wait (up to MAX_ROUND): one read of their NICs,
 * one transaction per network, project and set of groups making all its ports (ports.ts addPorts), one
 * write of every NIC's port, and one NetworkInfo build for all. A round starts as soon as the one before
 * it ends, so a build alone is not held back; only builds that arrive while a round runs wait for the
 * next.
 *
 * A round is all or nothing per port batch, not per round: when a batch cannot be made (the port quota,
 * a full subnet, a bad group), its ports are made one by one, so each build gets the error that is its
 * own and the others go on. Builds whose NICs are not all new ports on a network (a user's port, a fixed
 * address, a port that exists: a reschedule or a message delivered twice) are allocated alone, as
 * before.
 */
import type { Db } from '../common/db/database.ts';
import { isDatabaseConnectionLost } from '../common/database-errors.ts';
import { networkInfoOfAddedPorts, type RemoteGroupRules } from '../network/network-info.ts';
import type { AddedPort } from '../network/ports.ts';
import { createInstancePort, createInstancePorts, type PortBinding } from '../network/server-ports.ts';
import { instancesNics, setNicPorts, type InstanceNic } from '../objects/instance-networks.ts';
import {
  allocateForHost,
  computeDeviceOwner,
  type AllocationTarget,
  type HostAllocation,
} from './network-allocation.ts';

/** The most builds one round takes: bounds a round's transactions and the probe of free addresses. */
const MAX_ROUND = 50;

interface Request {
  instance: AllocationTarget;
  host: string;
  remoteGroups: RemoteGroupRules;
  resolve: (allocation: HostAllocation) => void;
  reject: (err: unknown) => void;
}

/** One NIC's port to make, of a build in the round. */
interface Wanted {
  request: Request;
  nic: InstanceNic;
}

export class BuildPortBatches {
  private pending: Request[] = [];
  private draining = false;

  constructor(private readonly database: { readonly db: Db }) {}

  /** allocateForHost, made together with the other builds waiting at the time. */
  allocate(instance: AllocationTarget, host: string, remoteGroups: RemoteGroupRules): Promise<HostAllocation> {
    return new Promise((resolve, reject) => {
      this.pending.push({ instance, host, remoteGroups, resolve, reject });
      if (!this.draining) {
        this.draining = true;
        // After the I/O at hand: builds whose messages came in with this one join its round.
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length) {
        const round: Request[] = [];
        const later: Request[] = [];
        for (const request of this.pending) {
          // A second allocation of one instance (a redelivered build) waits for the first's round.
          const twice = round.some((r) => r.instance.uuid === request.instance.uuid);
          (twice || round.length >= MAX_ROUND ? later : round).push(request);
        }
        this.pending = later;
        // round() settles every request itself; this is only so that nothing it missed waits forever.
        await this.round(round).catch((err: unknown) => round.forEach((r) => r.reject(err)));
      }
    } finally {
      this.draining = false;
    }
  }

  /** Allocates the round's builds; never throws: each build's request ends with its own outcome. */
  private async round(requests: Request[]): Promise<void> {
    const db = this.database.db;
    let nics: Map<string, InstanceNic[]>;
    try {
      nics = await instancesNics(
        db,
        requests.map((r) => r.instance.uuid),
      );
    } catch (err) {
      for (const request of requests) request.reject(err);
      return;
    }
    const together: Request[] = [];
    const alone: Promise<void>[] = [];
    for (const request of requests) {
      const own = nics.get(request.instance.uuid) ?? [];
      if (own.every((nic) => nic.port_id === null && nic.network_id !== null && nic.fixed_ip === null)) {
        together.push(request);
      } else {
        alone.push(
          allocateForHost(db, request.instance, request.host, request.remoteGroups, own).then(
            request.resolve,
            request.reject,
          ),
        );
      }
    }
    await Promise.all([...alone, this.allocateTogether(db, together, nics)]);
  }

  private async allocateTogether(db: Db, requests: Request[], nics: Map<string, InstanceNic[]>): Promise<void> {
    const failed = new Map<Request, unknown>();
    const made = new Map<InstanceNic, AddedPort>();
    try {
      for (const batch of batchesOf(requests, nics)) await makePorts(db, batch, made, failed);
      await setNicPorts(
        db,
        requests.flatMap((request) =>
          (nics.get(request.instance.uuid) ?? []).flatMap((nic) => {
            const port = made.get(nic);
            return port ? [{ uuid: request.instance.uuid, position: nic.position, portId: port.row.id }] : [];
          }),
        ),
      );
      const succeeded = requests.filter((r) => !failed.has(r));
      for (const remoteGroups of new Set(succeeded.map((r) => r.remoteGroups))) {
        const these = succeeded.filter((r) => r.remoteGroups === remoteGroups);
        const portsOf = (r: Request) => (nics.get(r.instance.uuid) ?? []).map((nic) => made.get(nic)!);
        const vifs = new Map(
          (await networkInfoOfAddedPorts(db, these.flatMap(portsOf), { remoteGroups })).map((vif) => [vif.id, vif]),
        );
        for (const request of these) {
          const ports = portsOf(request);
          request.resolve({
            networkInfo: ports.flatMap((p) => vifs.get(p.row.id) ?? []),
            joinedGroups: [...new Set(ports.flatMap((p) => p.securityGroups))],
          });
        }
      }
      for (const [request, err] of failed) request.reject(err);
    } catch (err) {
      // The database went away under the round: every build of it fails as its allocation would have
      // (their ports, whatever was made, are released with the build, by device id if not recorded).
      for (const request of requests) request.reject(err);
    }
  }
}

/** The round's wanted ports by project, network and groups: each batch is one addPorts. */
function batchesOf(requests: Request[], nics: Map<string, InstanceNic[]>): Wanted[][] {
  const batches = new Map<string, Wanted[]>();
  for (const request of requests) {
    for (const nic of nics.get(request.instance.uuid) ?? []) {
      const key = JSON.stringify([request.instance.project_id, nic.network_id, [...new Set(nic.security_groups)]]);
      const batch = batches.get(key);
      if (batch) batch.push({ request, nic });
      else batches.set(key, [{ request, nic }]);
    }
  }
  return [...batches.values()];
}

/**
 * Makes a batch's ports together, or, when that fails for a reason of the ports' own, one by one: a
 * build whose port cannot be had is marked failed with that port's error.
 */
async function makePorts(
  db: Db,
  batch: Wanted[],
  made: Map<InstanceNic, AddedPort>,
  failed: Map<Request, unknown>,
): Promise<void> {
  const first = batch[0]!;
  const request = {
    projectId: first.request.instance.project_id,
    networkId: first.nic.network_id!,
    securityGroups: first.nic.security_groups,
  };
  try {
    const ports = await createInstancePorts(
      db,
      request,
      batch.map((w) => bindingOf(w.request)),
    );
    batch.forEach((wanted, i) => made.set(wanted.nic, ports[i]!));
    return;
  } catch (err) {
    if (isDatabaseConnectionLost(err)) throw err;
    if (batch.length === 1) {
      failed.set(first.request, err);
      return;
    }
  }
  for (const wanted of batch) {
    if (failed.has(wanted.request)) continue;
    try {
      made.set(wanted.nic, await createInstancePort(db, { ...request, fixedIp: null }, bindingOf(wanted.request)));
    } catch (err) {
      if (isDatabaseConnectionLost(err)) throw err;
      failed.set(wanted.request, err);
    }
  }
}

function bindingOf(request: Request): PortBinding {
  return {
    deviceId: request.instance.uuid,
    deviceOwner: computeDeviceOwner(request.instance.availability_zone),
    hostId: request.host,
  };
}
