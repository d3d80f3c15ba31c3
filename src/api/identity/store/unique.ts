/** Moved to common/db (the object layer needs it too); kept here for the identity store's imports. */
export { conflictOnDuplicate, isUniqueViolation } from '../../../common/db/unique.ts';
