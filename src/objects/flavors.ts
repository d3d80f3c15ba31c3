/** Flavors (instance types): the sizes servers are built with, with their extra specs and access list. */
import { randomUUID } from 'node:crypto';
import type { Db } from '../common/db/database.ts';
import { afterMarker, orderTerms, type SortDirection, type SortKey } from '../common/db/keyset-pagination.ts';
import { now, type FlavorsTable } from '../common/db/schema.ts';
import { Conflict, NotFound } from '../common/errors.ts';

export interface Flavor {
  readonly id: number;
  readonly flavorid: string;
  readonly name: string;
  readonly memory_mb: number;
  readonly vcpus: number;
  readonly root_gb: number;
  readonly ephemeral_gb: number;
  readonly swap: number;
  readonly rxtx_factor: number;
  readonly vcpu_weight: number | null;
  readonly disabled: boolean;
  readonly is_public: boolean;
  readonly description: string | null;
  readonly extra_specs: Readonly<Record<string, string>>;
}

export interface NewFlavor {
  flavorid?: string | null;
  name: string;
  memory_mb: number;
  vcpus: number;
  root_gb: number;
  ephemeral_gb?: number;
  swap?: number;
  rxtx_factor?: number;
  is_public?: boolean;
  description?: string | null;
}

function toFlavor(row: Omit<FlavorsTable, 'id'> & { id: number }, specs: Record<string, string>): Flavor {
  return {
    id: row.id,
    flavorid: row.flavorid,
    name: row.name,
    memory_mb: row.memory_mb,
    vcpus: row.vcpus,
    root_gb: row.root_gb,
    ephemeral_gb: row.ephemeral_gb,
    swap: row.swap,
    rxtx_factor: row.rxtx_factor,
    vcpu_weight: row.vcpu_weight,
    disabled: row.disabled === 1,
    is_public: row.is_public === 1,
    description: row.description,
    extra_specs: specs,
  };
}

async function specsOf(db: Db, ids: number[]): Promise<Map<number, Record<string, string>>> {
  const result = new Map<number, Record<string, string>>(ids.map((id) => [id, {}]));
  if (!ids.length) return result;
  const rows = await db.selectFrom('flavor_extra_specs').selectAll().where('flavor_id', 'in', ids).execute();
  for (const row of rows) result.get(row.flavor_id)![row.key] = row.value;
  return result;
}

export async function createFlavor(db: Db, input: NewFlavor): Promise<Flavor> {
  const flavorid = input.flavorid ?? randomUUID();
  const clash = await db
    .selectFrom('flavors')
    .select(['name', 'flavorid'])
    .where((eb) => eb.or([eb('name', '=', input.name), eb('flavorid', '=', flavorid)]))
    .executeTakeFirst();
  if (clash) {
    throw new Conflict(
      clash.name === input.name
        ? `Flavor with name ${input.name} already exists.`
        : `Flavor with ID ${flavorid} already exists.`,
    );
  }
  await db
    .insertInto('flavors')
    .values({
      flavorid,
      name: input.name,
      memory_mb: input.memory_mb,
      vcpus: input.vcpus,
      root_gb: input.root_gb,
      ephemeral_gb: input.ephemeral_gb ?? 0,
      swap: input.swap ?? 0,
      rxtx_factor: input.rxtx_factor ?? 1.0,
      vcpu_weight: null,
      disabled: 0,
      is_public: input.is_public === false ? 0 : 1,
      description: input.description ?? null,
      created_at: now(),
      updated_at: null,
    })
    .execute();
  return getFlavor(db, flavorid);
}

export async function getFlavor(db: Db, flavorid: string): Promise<Flavor> {
  const row = await db.selectFrom('flavors').selectAll().where('flavorid', '=', flavorid).executeTakeFirst();
  if (!row) throw new NotFound(`Flavor ${flavorid} could not be found.`);
  return toFlavor(row, (await specsOf(db, [row.id])).get(row.id) ?? {});
}

export interface FlavorFilter {
  /** Project whose private flavors are visible besides the public ones; null means all (admin). */
  projectId: string | null;
  isPublic?: boolean | null;
  minRam?: number;
  minDisk?: number;
  limit: number;
  marker?: string;
  sortKey?: FlavorSortKey;
  sortDir?: SortDirection;
}

export type FlavorSortKey = 'flavorid' | 'name' | 'memory_mb' | 'vcpus' | 'root_gb' | 'id';

export async function listFlavors(db: Db, filter: FlavorFilter): Promise<Flavor[]> {
  let query = db.selectFrom('flavors').selectAll('flavors').where('disabled', '=', 0);
  if (filter.isPublic === true || filter.isPublic === false) {
    query = query.where('is_public', '=', filter.isPublic ? 1 : 0);
  }
  if (filter.projectId !== null) {
    const projectId = filter.projectId;
    query = query.where((eb) =>
      eb.or([
        eb('is_public', '=', 1),
        eb.exists(
          eb
            .selectFrom('flavor_projects')
            .select('flavor_projects.id')
            .whereRef('flavor_projects.flavor_id', '=', 'flavors.id')
            .where('flavor_projects.project_id', '=', projectId),
        ),
      ]),
    );
  }
  if (filter.minRam) query = query.where('memory_mb', '>=', filter.minRam);
  if (filter.minDisk) query = query.where('root_gb', '>=', filter.minDisk);
  // The flavor's sort key, then its row id (ascending) so that equal keys keep a stable page boundary.
  const keys: SortKey<FlavorSortKey>[] = [
    { column: filter.sortKey ?? 'flavorid', direction: filter.sortDir ?? 'asc', nullable: false },
    { column: 'id', direction: 'asc', nullable: false },
  ];
  if (filter.marker) {
    const marker = await db.selectFrom('flavors').selectAll().where('flavorid', '=', filter.marker).executeTakeFirst();
    if (!marker) throw new NotFound(`Marker ${filter.marker} could not be found.`);
    query = query.where((eb) => afterMarker(eb, keys, marker));
  }
  for (const [term, direction] of orderTerms(keys)) query = query.orderBy(term, direction);
  const rows = await query.limit(filter.limit).execute();
  const specs = await specsOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toFlavor(r, specs.get(r.id) ?? {}));
}

export async function deleteFlavor(db: Db, flavorid: string): Promise<void> {
  const flavor = await getFlavor(db, flavorid);
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('flavor_extra_specs').where('flavor_id', '=', flavor.id).execute();
    await trx.deleteFrom('flavor_projects').where('flavor_id', '=', flavor.id).execute();
    await trx.deleteFrom('flavors').where('id', '=', flavor.id).execute();
  });
}

export async function updateFlavorDescription(db: Db, flavorid: string, description: string | null): Promise<Flavor> {
  const flavor = await getFlavor(db, flavorid);
  await db.updateTable('flavors').set({ description, updated_at: now() }).where('id', '=', flavor.id).execute();
  return getFlavor(db, flavorid);
}

export async function setExtraSpecs(db: Db, flavorid: string, specs: Record<string, string>): Promise<Flavor> {
  const flavor = await getFlavor(db, flavorid);
  await db.transaction().execute(async (trx) => {
    for (const [key, value] of Object.entries(specs)) {
      await trx.deleteFrom('flavor_extra_specs').where('flavor_id', '=', flavor.id).where('key', '=', key).execute();
      await trx.insertInto('flavor_extra_specs').values({ flavor_id: flavor.id, key, value }).execute();
    }
  });
  return getFlavor(db, flavorid);
}

export async function deleteExtraSpec(db: Db, flavorid: string, key: string): Promise<void> {
  const flavor = await getFlavor(db, flavorid);
  const result = await db
    .deleteFrom('flavor_extra_specs')
    .where('flavor_id', '=', flavor.id)
    .where('key', '=', key)
    .executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) {
    throw new NotFound(`Flavor ${flavorid} has no extra specs with key ${key}.`);
  }
}

export async function addFlavorAccess(db: Db, flavorid: string, projectId: string): Promise<void> {
  const flavor = await getFlavor(db, flavorid);
  if (flavor.is_public) throw new Conflict(`Can not add access to a public flavor.`);
  const exists = await db
    .selectFrom('flavor_projects')
    .select('id')
    .where('flavor_id', '=', flavor.id)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (exists)
    throw new Conflict(`Flavor access already exists for flavor ${flavorid} and project ${projectId} combination.`);
  await db.insertInto('flavor_projects').values({ flavor_id: flavor.id, project_id: projectId }).execute();
}

export async function flavorAccessList(db: Db, flavorid: string): Promise<string[]> {
  const flavor = await getFlavor(db, flavorid);
  const rows = await db.selectFrom('flavor_projects').select('project_id').where('flavor_id', '=', flavor.id).execute();
  return rows.map((r) => r.project_id);
}

export async function removeFlavorAccess(db: Db, flavorid: string, projectId: string): Promise<void> {
  const flavor = await getFlavor(db, flavorid);
  const result = await db
    .deleteFrom('flavor_projects')
    .where('flavor_id', '=', flavor.id)
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) {
    throw new NotFound(`Flavor access not found for ${flavorid} / ${projectId} combination.`);
  }
}
