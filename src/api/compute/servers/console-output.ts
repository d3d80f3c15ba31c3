/**
 * POST /servers/{id}/action {"os-getConsoleOutput": {"length": N}}: the guest's serial console output,
 * its last N lines (all with -1 or no length), asked of the compute host with a call.
 */
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { BadRequest, Conflict } from '../../../common/errors.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import type { Instance } from '../../../objects/instances.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { validateBody } from '../validate.ts';

interface ConsoleOutputBody {
  'os-getConsoleOutput': { length?: number | string | null };
}

const ConsoleOutputSchema = Type.Object(
  {
    'os-getConsoleOutput': Type.Object(
      {
        length: Type.Optional(
          Type.Union([Type.Integer({ minimum: -1 }), Type.String({ pattern: '^-?[0-9]+$' }), Type.Null()]),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);

export async function consoleOutput(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  instance: Instance,
): Promise<{ output: string }> {
  const body = validateBody<ConsoleOutputBody>(ConsoleOutputSchema, request.body);
  const raw = body['os-getConsoleOutput'].length;
  const length = raw === undefined || raw === null ? -1 : Number(raw);
  if (length < -1) throw new BadRequest(`Invalid input for field/attribute length. Value: ${raw}. must be >= -1`);
  if (!instance.host) throw new Conflict(`Instance ${instance.uuid} is not ready`);
  const output = await deps.compute.getConsoleOutput(
    request.ctx,
    instance.host,
    instancePayload(instance),
    length === -1 ? null : length,
  );
  return { output };
}
