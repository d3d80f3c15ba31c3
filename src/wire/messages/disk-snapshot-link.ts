/**
 * A link of a guest's disk-snapshot chain (a Stratus extension) as its compute host reports it: what the driver returns, what
 * the compute host sends the conductor (sync_disk_snapshots) and what the records are reconciled with.
 * One schema, so the RPC's validation and the type cannot drift apart.
 */
import { Type, type Static } from 'typebox';
import { definePayload } from '../payload.ts';

/** A versioned payload (see payload.ts); its revisions, with the contract versions that carry each, go here. */
export const DiskSnapshotLinkShape = definePayload('DiskSnapshotLink', {
  id: Type.String(),
  /** The bytes the link's frozen file takes on the host; null where the driver has no files. */
  size: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
});
export const DiskSnapshotLinkSchema = DiskSnapshotLinkShape.schema;

export type DiskSnapshotLink = Static<typeof DiskSnapshotLinkSchema>;
