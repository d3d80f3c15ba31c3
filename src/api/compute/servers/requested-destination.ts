/**
 * 2.74's `host` and `hypervisor_hostname` at server create (Nova's requested destination): admins only
 * (compute:servers:create:requested_destination), and the host, the node, or the node of that host must
 * be a compute node Stratus knows (else Nova's 400, "Compute host ... could not be found."). The scheduler
 * then considers only that host or node, which must still pass its filters (scheduler/requested-destination.ts).
 */
import type { RequestContext } from '../../../common/context.ts';
import type { Db } from '../../../common/db/database.ts';
import { BadRequest } from '../../../common/errors.ts';
import type { RequestedDestination } from '../../../wire/messages/request-spec.ts';
import { authorize } from '../../policy.ts';

export const REQUESTED_DESTINATION_POLICY = 'compute:servers:create:requested_destination';

/** The destination asked for, checked; undefined when the request names none (Nova: empty values name none). */
export async function requestedDestination(
  db: Db,
  ctx: RequestContext,
  host: string | undefined,
  node: string | undefined,
): Promise<RequestedDestination | undefined> {
  if (!host && !node) return undefined;
  authorize(ctx, REQUESTED_DESTINATION_POLICY);
  let query = db.selectFrom('compute_nodes').select('id').where('deleted_at', 'is', null);
  if (host) query = query.where('host', '=', host);
  if (node) query = query.where('hypervisor_hostname', '=', node);
  if (!(await query.executeTakeFirst())) {
    // Nova names the node whenever one was asked for, even when it is the host that does not match.
    throw new BadRequest(`Compute host ${node || host} could not be found.`);
  }
  return { host: host || null, node: node || null };
}
