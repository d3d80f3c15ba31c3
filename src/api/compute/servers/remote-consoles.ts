/**
 * Remote consoles (Nova's remote_consoles controller): POST /servers/{id}/remote-consoles (2.6+) and the
 * older action {"os-getVNCConsole": {"type": "novnc"}} (2.1 to 2.5). Both ask the instance's compute host
 * where its VNC server is, store a single-use token for that address, and answer with a console proxy
 * URL carrying the token. Stratus serves VNC through noVNC only: other protocols are unavailable and
 * other types invalid, with the 400s Nova gives.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { novncproxyBaseUrl } from '../../../common/config/service-urls.ts';
import { BadRequest, ConsoleTypeUnavailable, Conflict } from '../../../common/errors.ts';
import { issueConsoleToken } from '../../../objects/console-auth-tokens.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import { TaskState, VmState } from '../../../wire/messages/instance-states.ts';
import type { Instance } from '../../../objects/instances.ts';
import type { ApiServer } from '../../http/create-server.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { atLeast, requireVersion } from '../microversion.ts';
import { validateBody } from '../validate.ts';
import { findServerFor } from './lookup.ts';

const PROTOCOLS_2_6 = ['vnc', 'spice', 'rdp', 'serial'];
const TYPES_2_6 = ['novnc', 'xvpvnc', 'rdp-html5', 'spice-html5', 'serial'];

function remoteConsoleSchema(protocols: string[], types: string[]) {
  return Type.Object(
    {
      remote_console: Type.Object(
        {
          protocol: Type.Union(protocols.map((p) => Type.Literal(p))),
          type: Type.Union(types.map((t) => Type.Literal(t))),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  );
}

// 2.8 added VMware's MKS consoles.
const RemoteConsoleSchema26 = remoteConsoleSchema(PROTOCOLS_2_6, TYPES_2_6);
const RemoteConsoleSchema28 = remoteConsoleSchema([...PROTOCOLS_2_6, 'mks'], [...TYPES_2_6, 'webmks']);

const GetVncConsoleSchema = Type.Object(
  {
    'os-getVNCConsole': Type.Object(
      { type: Type.Union([Type.Literal('novnc'), Type.Literal('xvpvnc')]) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

interface RemoteConsoleBody {
  remote_console: { protocol: string; type: string };
}

interface GetVncConsoleBody {
  'os-getVNCConsole': { type: string };
}

/** States whose guest runs, so its VNC server does (a paused guest still shows its frozen screen). */
const CONSOLE_VM_STATES: readonly string[] = [VmState.ACTIVE, VmState.PAUSED];
// Nova refuses 'migrating' too; Stratus has no live migration yet.
const REFUSED_TASK_STATES: readonly (string | null)[] = [TaskState.DELETING];

export function registerRemoteConsoleRoutes(app: ApiServer, deps: ComputeApiDeps): void {
  app.post<{ Params: { id: string } }>('/servers/:id/remote-consoles', async (request) => {
    requireVersion(request, '2.6');
    const schema = atLeast(request, '2.8') ? RemoteConsoleSchema28 : RemoteConsoleSchema26;
    const { remote_console: asked } = validateBody<RemoteConsoleBody>(schema, request.body);
    const instance = await findServerFor(
      deps.database.db,
      request.ctx,
      request.params.id,
      'os_compute_api:os-remote-consoles',
    );
    if (asked.protocol !== 'vnc') throw new ConsoleTypeUnavailable(`Unavailable console type ${asked.type}.`);
    const url = await vncConsoleUrl(deps, request, instance, asked.type);
    return { remote_console: { protocol: asked.protocol, type: asked.type, url } };
  });
}

/** POST /servers/{id}/action {"os-getVNCConsole": {...}}: the action form, removed in 2.6. */
export async function getVncConsoleAction(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  instance: Instance,
): Promise<{ console: { type: string; url: string } }> {
  requireVersion(request, '2.1', '2.5');
  const { type } = validateBody<GetVncConsoleBody>(GetVncConsoleSchema, request.body)['os-getVNCConsole'];
  return { console: { type, url: await vncConsoleUrl(deps, request, instance, type) } };
}

/** Checks the instance can show a console, asks its host where, and returns a URL with a fresh token. */
async function vncConsoleUrl(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  instance: Instance,
  consoleType: string,
): Promise<string> {
  // Only noVNC: Nova dropped the XenAPI-only xvpvnc proxy long ago.
  if (consoleType !== 'novnc') throw new BadRequest(`Invalid console type ${consoleType}`);
  if (!instance.host) throw new Conflict(`Instance ${instance.uuid} is not ready`);
  const state = !CONSOLE_VM_STATES.includes(instance.vm_state)
    ? { attr: 'vm_state', value: instance.vm_state }
    : REFUSED_TASK_STATES.includes(instance.task_state)
      ? { attr: 'task_state', value: instance.task_state }
      : null;
  if (state) {
    throw new Conflict(
      `Instance ${instance.uuid} in ${state.attr} ${state.value ?? 'None'}. ` +
        'Cannot get_vnc_console while the instance is in this state.',
    );
  }
  const vnc = await deps.compute.getVncConsole(request.ctx, instance.host, instancePayload(instance));
  const issued = await issueConsoleToken(
    deps.database.db,
    { instanceUuid: instance.uuid, consoleType, host: vnc.host, port: vnc.port },
    novncproxyBaseUrl(deps.config),
    deps.config.consoleauth.token_ttl,
  );
  return issued.url;
}
