/**
 * @deprecated Moved to src/wire/messages/instance-payload.ts (the wire layer, the one home of what crosses the bus). This re-export
 * only keeps branches written before the move compiling; import from the new place.
 */
export * from '../wire/messages/instance-payload.ts';
