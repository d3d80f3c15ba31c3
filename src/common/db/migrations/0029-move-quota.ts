/**
 * Quota while a server is being resized (see "Quotas by counting" in architecture.md): until the move is
 * confirmed or reverted the server counts the larger of its two flavors' vCPUs and memory, whichever way
 * the move ends. `migrations.peak_vcpus` and `peak_memory_mb` hold those figures, so the count reads them
 * in SQL; the index on `status` lets it find the unfinished moves without reading the finished ones.
 *
 * Data: the unfinished moves get their peak from their flavors' JSON (finished ones are never read for
 * it, so theirs stay null). Before this release a resize changed an instance's flavor but not the
 * columns copied from it (instance_type_id, vcpus, memory_mb, root_gb, ephemeral_gb), which the quota
 * count, the usage reports and the list's sort keys read: the instances that were moved get them back
 * from their flavor.
 */
import type { MigrationDb } from './column-helpers.ts';

/** The statuses of a move that has not been confirmed or reverted (nor failed). */
const UNFINISHED = ['pre-migrating', 'migrating', 'post-migrating', 'finished', 'confirming', 'reverting'];

interface FlavorFigures {
  id: number;
  vcpus: number;
  memory_mb: number;
  root_gb: number;
  ephemeral_gb: number;
}

export async function up(db: MigrationDb): Promise<void> {
  await db.schema.alterTable('migrations').addColumn('peak_vcpus', 'integer').execute();
  await db.schema.alterTable('migrations').addColumn('peak_memory_mb', 'integer').execute();
  await db.schema.createIndex('migrations_status_idx').on('migrations').column('status').execute();

  const moves = (await db
    .selectFrom('migrations')
    .select(['id', 'old_flavor', 'new_flavor'])
    .where('status', 'in', UNFINISHED)
    .execute()) as { id: number; old_flavor: string; new_flavor: string }[];
  for (const move of moves) {
    const from = JSON.parse(move.old_flavor) as FlavorFigures;
    const to = JSON.parse(move.new_flavor) as FlavorFigures;
    await db
      .updateTable('migrations')
      .set({ peak_vcpus: Math.max(from.vcpus, to.vcpus), peak_memory_mb: Math.max(from.memory_mb, to.memory_mb) })
      .where('id', '=', move.id)
      .execute();
  }

  const moved = (await db
    .selectFrom('instances')
    .select(['id', 'flavor', 'instance_type_id', 'vcpus', 'memory_mb', 'root_gb', 'ephemeral_gb'])
    .where('deleted', '=', 0)
    .where('uuid', 'in', db.selectFrom('migrations').select('instance_uuid').where('migration_type', '=', 'resize'))
    .execute()) as (FlavorFigures & { flavor: string; instance_type_id: number })[];
  for (const instance of moved) {
    const flavor = JSON.parse(instance.flavor) as FlavorFigures;
    const columns = {
      instance_type_id: flavor.id,
      vcpus: flavor.vcpus,
      memory_mb: flavor.memory_mb,
      root_gb: flavor.root_gb,
      ephemeral_gb: flavor.ephemeral_gb,
    };
    const stale = Object.entries(columns).some(([k, v]) => instance[k as keyof typeof columns] !== v);
    if (stale) await db.updateTable('instances').set(columns).where('id', '=', instance.id).execute();
  }
}
