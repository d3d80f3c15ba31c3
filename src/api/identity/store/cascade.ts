/**
 * Deletions that take dependent rows with them, each in one transaction so a failure leaves nothing half
 * deleted. Token revocation is the caller's (it must also drop in-memory cache entries).
 */
import type { Database } from '../../../common/db/database.ts';

export async function deleteUserCascade(database: Database, userId: string): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('role_assignments').where('actor_id', '=', userId).execute();
    await trx.deleteFrom('users').where('id', '=', userId).execute();
  });
}

export async function deleteProjectCascade(database: Database, projectId: string): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    await trx
      .deleteFrom('role_assignments')
      .where('type', '=', 'UserProject')
      .where('target_id', '=', projectId)
      .execute();
    await trx.deleteFrom('projects').where('id', '=', projectId).execute();
  });
}

export async function deleteRoleCascade(database: Database, roleId: string): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    await trx.deleteFrom('role_assignments').where('role_id', '=', roleId).execute();
    await trx.deleteFrom('roles').where('id', '=', roleId).execute();
  });
}

/** A domain goes with its users, its projects and every assignment of or on them. */
export async function deleteDomainCascade(database: Database, domainId: string): Promise<void> {
  await database.db.transaction().execute(async (trx) => {
    const users = trx.selectFrom('users').select('id').where('domain_id', '=', domainId);
    const projects = trx.selectFrom('projects').select('id').where('domain_id', '=', domainId);
    await trx
      .deleteFrom('role_assignments')
      .where((eb) =>
        eb.or([
          eb('actor_id', 'in', users),
          eb.and([eb('type', '=', 'UserProject'), eb('target_id', 'in', projects)]),
          eb.and([eb('type', '=', 'UserDomain'), eb('target_id', '=', domainId)]),
        ]),
      )
      .execute();
    await trx.deleteFrom('users').where('domain_id', '=', domainId).execute();
    await trx.deleteFrom('projects').where('domain_id', '=', domainId).execute();
    await trx.deleteFrom('domains').where('id', '=', domainId).execute();
  });
}
