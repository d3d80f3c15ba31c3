/**
 * The fake driver's live migration: the guest's "state" travels in the time `[fake_driver]
 * live_migration_ms` says (nothing is copied: fake hosts have no memory or disks to send), with progress
 * figures derived from the flavor and the time gone, abort and force complete, and failures injected at
 * each step by `[fake_driver] move_failure_rates` (live_check, live_pre, live_migrate, live_post). The
 * destination holds the guest paused from preLiveMigration on and runs it from
 * postLiveMigrationAtDestination; the source's guest is stopped once the transfer is done. Two compute
 * processes, or two fake hosts in one, thus go through the same steps as two qemu hosts.
 */
import { MigrationError } from '../../../common/errors.ts';
import type { InstancePayload } from '../../../wire/messages/instance-payload.ts';
import { PowerState } from '../../../wire/messages/instance-states.ts';
import type { LiveMigrateData, LiveMigrationProgress } from '../../../wire/messages/live-migrate-data.ts';
import type { NetworkInfo } from '../../../wire/messages/network-info.ts';
import type { GuestLiveMoves } from '../driver.ts';

const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

export const LIVE_FAILURE_STEPS = ['live_check', 'live_pre', 'live_migrate', 'live_post'] as const;
export type LiveFailureStep = (typeof LIVE_FAILURE_STEPS)[number];

/** What the fake live migration needs of its driver. */
export interface FakeLiveHost {
  host(): string;
  hasNode(node: string): boolean;
  /** The guest's power state here, or null when this host has no such guest. */
  powerState(uuid: string): number | null;
  isRescued(uuid: string): boolean;
  setPowerState(uuid: string, power: number): void;
  /** A guest made here for an incoming migration (paused, with these NICs). */
  addIncoming(instance: InstancePayload, node: string, networkInfo: NetworkInfo): void;
  /** The guest's memory and disk sizes (bytes), for its progress figures. */
  sizes(uuid: string): { memory: number; disk: number };
  /** How long a transfer takes (ms). */
  transferMs(): number;
  injectFailure(step: LiveFailureStep, uuid: string): void;
}

interface Transfer {
  startedAt: number;
  durationMs: number;
  /** Ends the wait: done (force complete) or failed (abort). */
  finish(error?: Error): void;
}

export class FakeLiveMigration implements GuestLiveMoves {
  private readonly transfers = new Map<string, Transfer>();

  constructor(private readonly h: FakeLiveHost) {}

  async checkCanLiveMigrateDestination(instance: InstancePayload, node: string): Promise<void> {
    if (!this.h.hasNode(node)) throw new MigrationError(`node ${node} is not on host ${this.h.host()}`);
    if (this.h.powerState(instance.uuid) !== null) {
      throw new MigrationError(`host ${this.h.host()} already has a guest of instance ${instance.uuid}`);
    }
    this.h.injectFailure('live_check', instance.uuid);
  }

  async checkCanLiveMigrateSource(uuid: string): Promise<void> {
    const power = this.h.powerState(uuid);
    if (power === null) throw new MigrationError(`guest ${uuid} is not on host ${this.h.host()}`);
    if (power !== PowerState.RUNNING && power !== PowerState.PAUSED) {
      throw new MigrationError(`guest ${uuid} is not running; it cannot be live-migrated`);
    }
    if (this.h.isRescued(uuid)) throw new MigrationError(`guest ${uuid} is rescued; unrescue it before migrating it`);
  }

  async preLiveMigration(instance: InstancePayload, node: string, networkInfo: NetworkInfo): Promise<LiveMigrateData> {
    await this.checkCanLiveMigrateDestination(instance, node);
    this.h.injectFailure('live_pre', instance.uuid);
    this.h.addIncoming(instance, node, networkInfo);
    return { uri: `fake://${this.h.host()}/${instance.uuid}` };
  }

  async liveMigration(uuid: string, data: LiveMigrateData): Promise<void> {
    await this.checkCanLiveMigrateSource(uuid);
    if (!data.uri.startsWith('fake://')) throw new MigrationError(`the fake driver cannot migrate to ${data.uri}`);
    if (this.transfers.has(uuid)) throw new MigrationError(`guest ${uuid} is already migrating`);
    const durationMs = this.h.transferMs();
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        const finish = (error?: Error) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        this.transfers.set(uuid, { startedAt: Date.now(), durationMs, finish });
        timer = setTimeout(() => finish(), durationMs);
      });
      this.h.injectFailure('live_migrate', uuid);
    } finally {
      this.transfers.delete(uuid);
    }
    // The state is at the destination: the guest here stops for good (as qemu's postmigrate).
    this.h.setPowerState(uuid, PowerState.SHUTDOWN);
  }

  async progress(uuid: string): Promise<LiveMigrationProgress | null> {
    const transfer = this.transfers.get(uuid);
    if (!transfer) return null;
    const { memory, disk } = this.h.sizes(uuid);
    const share = transfer.durationMs > 0 ? Math.min(1, (Date.now() - transfer.startedAt) / transfer.durationMs) : 1;
    const memoryDone = Math.floor(memory * share);
    const diskDone = Math.floor(disk * share);
    return {
      memory_total: memory,
      memory_processed: memoryDone,
      memory_remaining: memory - memoryDone,
      disk_total: disk,
      disk_processed: diskDone,
      disk_remaining: disk - diskDone,
    };
  }

  async abort(uuid: string): Promise<void> {
    const transfer = this.transfers.get(uuid);
    if (!transfer) throw new MigrationError(`guest ${uuid} has no live migration under way on ${this.h.host()}`);
    transfer.finish(new MigrationError(`live migration of guest ${uuid} cancelled`));
  }

  async forceComplete(uuid: string): Promise<void> {
    const transfer = this.transfers.get(uuid);
    if (!transfer) throw new MigrationError(`guest ${uuid} has no live migration under way on ${this.h.host()}`);
    // As the qemu driver: the guest is paused, its memory stops changing and the transfer ends now.
    this.h.setPowerState(uuid, PowerState.PAUSED);
    transfer.finish();
  }

  async postLiveMigrationAtDestination(uuid: string, resume: boolean): Promise<void> {
    if (this.h.powerState(uuid) === null) throw new MigrationError(`guest ${uuid} is not on host ${this.h.host()}`);
    this.h.injectFailure('live_post', uuid);
    this.h.setPowerState(uuid, resume ? PowerState.RUNNING : PowerState.PAUSED);
  }
}

/** A fake guest's sizes: its flavor's memory, and its disks at their full sizes. */
export function fakeGuestSizes(memoryMb: number, rootGb: number): { memory: number; disk: number } {
  return { memory: memoryMb * MiB, disk: rootGb * GiB };
}
