/**
 * An incremental reload of the scheduler's view: read what changed since the last load instead of the
 * whole fleet, so a reload costs what changed, not the fleet (a full load of 10,000 hosts reads about
 * 100,000 rows; on SQLite, synchronously, blocking every request meanwhile).
 *
 * - usage rows stamped (claims and releases set `updated_at`) since the last load started, less a
 *   margin: a claim stamps its rows a statement or two before it commits, and schedulers, conductors
 *   and compute hosts stamp by their own clocks;
 * - compute node rows stamped likewise (a node's report); a row re-read with the stamp the view has is
 *   skipped;
 * - compute services stamped likewise (heartbeats, which compute hosts send through the conductor, and
 *   an operator's disable or force-down); whether each host is up is then worked out again for all,
 *   since a silent host goes down with time alone;
 * - and the fingerprint of the rest (fleet-fingerprint.ts): hosts added or deleted, inventories,
 *   aggregates. When it differs, or the last full load is older than FULL_RELOAD_MS, the fleet is read
 *   in full as before.
 *
 * Hosts are patched in place, as a placement is counted in them: a request under way sees the change
 * from its next instance on. Not copies: host objects built otherwise than by the one object literal of
 * the full load made the filters' and weighers' reads of every host several times slower (V8 then sees
 * hosts of several shapes). The view's columns (host-columns.ts) are patched with them, for the hosts
 * whose usage or reports changed and for every host's service state.
 */
import type { Config } from '../common/config/load-config.ts';
import type { Db } from '../common/db/database.ts';
import { ResourceClass } from '../placement/resource-classes.ts';
import { fleetFingerprint } from './fleet-fingerprint.ts';
import { JsonCache, loadFleet, reportedFields, serviceState, serviceUp, type Fleet } from './host-manager.ts';

/**
 * How far before the last load's start stamped rows are read again: longer than a claim's last
 * statements take to commit and than clocks on the control plane should drift apart.
 */
export const STAMP_MARGIN_MS = 5_000;

/**
 * A full load now and then all the same, so that whatever the stamps and the fingerprint miss (a clock
 * far off, a row changed by hand) is corrected within this time.
 */
export const FULL_RELOAD_MS = 10 * 60_000;

/** Changed compute nodes read by one statement (an IN list of their uuids). */
const NODES_PER_QUERY = 500;

/** The fleet as it is now: `previous` patched with what changed, or a full load when that cannot be done. */
export async function refreshFleet(db: Db, config: Config, previous: Fleet): Promise<Fleet> {
  const loadedAt = Date.now();
  if (loadedAt - previous.fullyLoadedAt >= FULL_RELOAD_MS) return loadFleet(db, config);
  const fingerprint = await fleetFingerprint(db);
  const reloadAll = () => loadFleet(db, config, { loadedAt, fingerprint });
  if (fingerprint !== previous.fingerprint) return reloadAll();
  const since = new Date(previous.loadedAt - STAMP_MARGIN_MS).toISOString();
  const [services, nodes, usages] = await Promise.all([
    db
      .selectFrom('services')
      .select(['id', 'disabled', 'forced_down', 'last_seen_up'])
      .where('binary', '=', 'stratus-compute')
      .where('updated_at', '>=', since)
      .execute(),
    // Narrow first: most nodes re-read within the margin are unchanged, and their rows are wide.
    db
      .selectFrom('compute_nodes')
      .select(['uuid', 'service_id', 'updated_at'])
      .where('updated_at', '>=', since)
      .where('deleted_at', 'is', null)
      .execute(),
    db
      .selectFrom('resource_usages')
      .select(['resource_provider_id', 'resource_class', 'used'])
      .where('updated_at', '>=', since)
      .execute(),
  ]);

  const hosts = previous.hosts;
  for (const row of services) {
    // A service the view lacks was registered since: the fingerprint missed it (read it all again).
    if (!previous.services.has(row.id)) return reloadAll();
    previous.services.set(row.id, serviceState(row));
  }
  const { serviceIds, nodeStamps, columns } = previous;
  const changed: string[] = [];
  for (const node of nodes) {
    const index = previous.indexByUuid.get(node.uuid);
    // A node the view lacks (its service or provider was missing at the last load): read it all again.
    if (index === undefined) return reloadAll();
    if (node.updated_at !== nodeStamps[index] || node.service_id !== serviceIds[index]) changed.push(node.uuid);
  }
  // The hosts whose reports or usage changed: their columns are worked out again once, after every row
  // is applied, and also when a later step fails or reads the fleet again (the columns never stay
  // behind hosts already patched).
  const touched = new Set<number>();
  try {
    const parsed = new JsonCache();
    for (let start = 0; start < changed.length; start += NODES_PER_QUERY) {
      const rows = await db
        .selectFrom('compute_nodes')
        .selectAll()
        .where('uuid', 'in', changed.slice(start, start + NODES_PER_QUERY))
        .execute();
      for (const node of rows) {
        const index = previous.indexByUuid.get(node.uuid)!;
        nodeStamps[index] = node.updated_at;
        serviceIds[index] = node.service_id;
        Object.assign(hosts[index]!, reportedFields(node, parsed));
        touched.add(index);
      }
    }
    const now = Date.now();
    for (let index = 0; index < hosts.length; index++) {
      const service = previous.services.get(serviceIds[index]!);
      if (!service) return reloadAll();
      const host = hosts[index]!;
      // Every host, not only those whose service row changed: a silent one goes down with time alone.
      host.serviceUp = serviceUp(service, config, now);
      host.serviceDisabled = service.disabled;
      columns.updateService(index);
    }
    for (const row of usages) {
      const owner = previous.providers.get(row.resource_provider_id);
      if (!owner) continue;
      const host = hosts[owner.index]!;
      const used = Number(row.used);
      if (owner.tier === null) host.usages[row.resource_class] = used;
      else if (row.resource_class === ResourceClass.DISK_GB) {
        const pool = host.storagePools[owner.tier];
        if (pool) pool.used = used;
      }
      touched.add(owner.index);
    }
  } finally {
    for (const index of touched) columns.update(index);
  }
  return { ...previous, loadedAt };
}
