/**
 * A server's NICs as it asked for them at create and as they were allocated (table instance_networks,
 * migration 0024): the API records the requests with the build, the conductor fills in the ports it
 * makes, and delete and build failure read back which ports to delete (made by Stratus) and which only
 * to unbind (the user's, Nova's preserve_on_delete).
 */
import type { ExpressionBuilder } from 'kysely';
import type { Db } from '../common/db/database.ts';
import type { Schema } from '../common/db/schema.ts';

/** One requested NIC: a port to make on a network (with an optional address), or the user's port. */
export interface NicRequest {
  network_id: string | null;
  fixed_ip: string | null;
  port_id: string | null;
  tag: string | null;
  /** The security groups a port made for the NIC gets: ids, or the name `default`. */
  security_groups: readonly string[];
}

export interface InstanceNic extends NicRequest {
  position: number;
  preserve_on_delete: boolean;
}

/** Records the NICs an instance asks for, in order (inside the build request's transaction). */
export async function recordNicRequests(db: Db, uuid: string, requests: readonly NicRequest[]): Promise<void> {
  if (!requests.length) return;
  await db
    .insertInto('instance_networks')
    .values(
      requests.map((r, position) => ({
        instance_uuid: uuid,
        position,
        network_id: r.network_id,
        fixed_ip: r.fixed_ip,
        port_id: r.port_id,
        tag: r.tag,
        security_groups: JSON.stringify(r.security_groups),
        preserve_on_delete: r.port_id !== null ? 1 : 0,
      })),
    )
    .execute();
}

/** Appends one NIC (an interface attached later) after the instance's others; returns its position. */
export async function appendNic(
  db: Db,
  uuid: string,
  nic: NicRequest & { preserve_on_delete: boolean },
): Promise<number> {
  const last = await db
    .selectFrom('instance_networks')
    .select((eb) => eb.fn.max('position').as('position'))
    .where('instance_uuid', '=', uuid)
    .executeTakeFirst();
  const position = last?.position === null || last?.position === undefined ? 0 : Number(last.position) + 1;
  await db
    .insertInto('instance_networks')
    .values({
      instance_uuid: uuid,
      position,
      network_id: nic.network_id,
      fixed_ip: nic.fixed_ip,
      port_id: nic.port_id,
      tag: nic.tag,
      security_groups: JSON.stringify(nic.security_groups),
      preserve_on_delete: nic.preserve_on_delete ? 1 : 0,
    })
    .execute();
  return position;
}

/** The instance's NICs in the guest's order. */
export async function instanceNics(db: Db, uuid: string): Promise<InstanceNic[]> {
  return (await instancesNics(db, [uuid])).get(uuid) ?? [];
}

/** Several instances' NICs in one read, each instance's in order; an instance with none is absent. */
export async function instancesNics(db: Db, uuids: readonly string[]): Promise<Map<string, InstanceNic[]>> {
  const byInstance = new Map<string, InstanceNic[]>();
  if (!uuids.length) return byInstance;
  const rows = await db
    .selectFrom('instance_networks')
    .selectAll()
    .where('instance_uuid', uuids.length === 1 ? '=' : 'in', uuids.length === 1 ? uuids[0]! : [...uuids])
    .orderBy('instance_uuid')
    .orderBy('position')
    .execute();
  for (const r of rows) {
    const nic: InstanceNic = {
      position: r.position,
      network_id: r.network_id,
      fixed_ip: r.fixed_ip,
      port_id: r.port_id,
      tag: r.tag,
      security_groups: JSON.parse(r.security_groups) as string[],
      preserve_on_delete: r.preserve_on_delete === 1,
    };
    const nics = byInstance.get(r.instance_uuid);
    if (nics) nics.push(nic);
    else byInstance.set(r.instance_uuid, [nic]);
  }
  return byInstance;
}

/** Records the port made for a NIC. */
export async function setNicPort(db: Db, uuid: string, position: number, portId: string | null): Promise<void> {
  await setNicPorts(db, [{ uuid, position, portId }]);
}

/** Records the ports made for several NICs, of any instances, in one statement. */
export async function setNicPorts(
  db: Db,
  nics: readonly { uuid: string; position: number; portId: string | null }[],
): Promise<void> {
  if (!nics.length) return;
  if (nics.length === 1) {
    const [{ uuid, position, portId }] = nics as [(typeof nics)[number]];
    await db
      .updateTable('instance_networks')
      .set({ port_id: portId })
      .where('instance_uuid', '=', uuid)
      .where('position', '=', position)
      .execute();
    return;
  }
  const isNic = (eb: ExpressionBuilder<Schema, 'instance_networks'>, nic: (typeof nics)[number]) =>
    eb.and([eb('instance_uuid', '=', nic.uuid), eb('position', '=', nic.position)]);
  await db
    .updateTable('instance_networks')
    .set((eb) => {
      let port = eb.case().when(isNic(eb, nics[0]!)).then(nics[0]!.portId);
      for (const nic of nics.slice(1)) port = port.when(isNic(eb, nic)).then(nic.portId);
      return { port_id: port.end() };
    })
    .where((eb) => eb.or(nics.map((nic) => isNic(eb, nic))))
    .execute();
}

/** Forgets one NIC (its port was detached), or all of an instance's. */
export async function forgetNics(db: Db, uuid: string, portId?: string): Promise<void> {
  let query = db.deleteFrom('instance_networks').where('instance_uuid', '=', uuid);
  if (portId !== undefined) query = query.where('port_id', '=', portId);
  await query.execute();
}
