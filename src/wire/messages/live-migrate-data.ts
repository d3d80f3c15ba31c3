/**
 * What a live migration's destination prepared for its source to stream to (Nova's migrate_data): the
 * destination's driver returns it from pre_live_migration, the destination reports it to the conductor,
 * which passes it on to the source's live_migration. The qemu driver gives its migration URI and the NBD
 * export of the disks it made (block migration); the fake driver a URI naming the destination alone.
 */
import { Type, type Static } from 'typebox';

export const LiveMigrateDataSchema = Type.Object({
  /** Where the source sends the guest's state (qemu: tcp:host:port). */
  uri: Type.String({ minLength: 1, maxLength: 2048 }),
  /** Block migration: where the destination's empty disks are exported, each as its drive's name. */
  nbd: Type.Optional(
    Type.Object({
      host: Type.String({ minLength: 1, maxLength: 255 }),
      port: Type.Integer({ minimum: 1, maximum: 65535 }),
      drives: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 64 }),
    }),
  ),
});
export type LiveMigrateData = Static<typeof LiveMigrateDataSchema>;

/** A live migration's transfer so far, in bytes (null: the driver cannot tell), as the source reports it. */
const Bytes = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]);
export const LiveMigrationProgressSchema = Type.Object({
  memory_total: Bytes,
  memory_processed: Bytes,
  memory_remaining: Bytes,
  disk_total: Bytes,
  disk_processed: Bytes,
  disk_remaining: Bytes,
});
export type LiveMigrationProgress = Static<typeof LiveMigrationProgressSchema>;
