/**
 * GET /servers/{id}/os-instance-actions[/{request_id}]: what was done to a server, by whom, and (for
 * admins, or anyone from 2.51) each step's events; tracebacks and hosts only for admins, as in Nova.
 */
import { BadRequest, NotFound } from '../../../common/errors.ts';
import { listActions, type ActionRecord } from '../../../objects/instance-actions.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast } from '../microversion.ts';
import { collectionLinks, pageParams } from '../pagination.ts';
import { queryTime } from '../query-checks.ts';
import { naiveTime } from '../timestamps.ts';
import type { Query } from '../validate.ts';
import { findServerFor } from './lookup.ts';
import { ownedBy, permits } from '../../policy.ts';
import { hostId } from './view.ts';

type ActionView = Record<string, unknown>;

function actionView(action: ActionRecord, withUpdatedAt: boolean): ActionView {
  const view: ActionView = {
    action: action.action,
    instance_uuid: action.instance_uuid,
    request_id: action.request_id,
    user_id: action.user_id,
    project_id: action.project_id,
    start_time: naiveTime(action.start_time),
    message: action.message,
  };
  if (withUpdatedAt) view['updated_at'] = naiveTime(action.updated_at);
  return view;
}

export function registerInstanceActionRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  const db = deps.database.db;
  const maxLimit = deps.config.DEFAULT.osapi_max_limit;

  app.get<{ Params: { id: string } }>('/servers/:id/os-instance-actions', async (request) => {
    // From 2.21 the actions of a deleted server stay readable: that is how one learns who deleted it.
    const instance = await findServerFor(
      db,
      request.ctx,
      request.params.id,
      'os_compute_api:os-instance-actions:list',
      atLeast(request, '2.21'),
    );
    let actions = await listActions(db, instance.uuid);
    if (!atLeast(request, '2.58')) return { instanceActions: actions.map((a) => actionView(a, false)) };

    const query = request.query as Query;
    const since = queryTime(query, 'changes-since');
    const before = atLeast(request, '2.66') ? queryTime(query, 'changes-before') : undefined;
    if (since && before && before < since) {
      throw new BadRequest('The value of changes-since must be less than or equal to changes-before.');
    }
    if (since) actions = actions.filter((a) => (a.updated_at ?? a.start_time) >= since);
    if (before) actions = actions.filter((a) => (a.updated_at ?? a.start_time) <= before);
    const page = pageParams(query, maxLimit);
    if (page.marker !== undefined) {
      const index = actions.findIndex((a) => a.request_id === page.marker);
      if (index < 0) throw new BadRequest(`Marker ${page.marker} could not be found.`);
      actions = actions.slice(index + 1);
    }
    actions = actions.slice(0, page.limit);
    const body: Record<string, unknown> = { instanceActions: actions.map((a) => actionView(a, true)) };
    const links = collectionLinks(
      request,
      actions.length,
      actions[actions.length - 1]?.request_id,
      `servers/${instance.uuid}/os-instance-actions`,
      maxLimit,
    );
    if (links.length) body['links'] = links;
    return body;
  });

  app.get<{ Params: { id: string; requestId: string } }>(
    '/servers/:id/os-instance-actions/:requestId',
    async (request) => {
      const instance = await findServerFor(
        db,
        request.ctx,
        request.params.id,
        'os_compute_api:os-instance-actions:show',
        atLeast(request, '2.21'),
      );
      const action = (await listActions(db, instance.uuid)).find((a) => a.request_id === request.params.requestId);
      if (!action) throw new NotFound(`Action ${request.params.requestId} not found`);
      const view = actionView(action, atLeast(request, '2.58'));
      const admin = permits(request.ctx, 'os_compute_api:os-instance-actions:events', ownedBy(instance));
      if (admin || atLeast(request, '2.51')) {
        view['events'] = action.events.map((e) => {
          const event: Record<string, unknown> = {
            event: e.event,
            start_time: naiveTime(e.start_time),
            finish_time: naiveTime(e.finish_time),
            result: e.result,
          };
          if (admin) event['traceback'] = e.traceback;
          if (admin && atLeast(request, '2.62')) event['host'] = e.host ?? '';
          if (atLeast(request, '2.62')) event['hostId'] = hostId(action.project_id ?? instance.project_id, e.host);
          if (admin && atLeast(request, '2.84')) event['details'] = e.details;
          return event;
        });
      }
      return { instanceAction: view };
    },
  );
}
