/**
 * Where a move's destination fetches the guest's disks from (resize and cold migration): the source
 * host's driver hands it over when it has powered the guest off, the source reports it to the conductor
 * with its step, and the conductor passes it on to the destination's finish step. Only a driver that
 * copies disks between hosts gives one (the qemu driver: an address on the source that serves them);
 * drivers that move nothing (the fake one) give none.
 */
import { Type, type Static } from 'typebox';

export const DiskSourceSchema = Type.Object({
  /** The source's export of the guest's disks, for the destination's driver alone to read. */
  url: Type.String({ minLength: 1, maxLength: 2048 }),
});
export type DiskSource = Static<typeof DiskSourceSchema>;
