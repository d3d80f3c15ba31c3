/**
 * @deprecated Moved to src/wire/messages/disk-snapshot-link.ts (the wire layer, the one home of what crosses the bus). This re-export
 * only keeps branches written before the move compiling; import from the new place.
 */
export * from '../wire/messages/disk-snapshot-link.ts';
