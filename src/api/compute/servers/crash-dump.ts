/**
 * The trigger_crash_dump server action (microversion 2.17), as Nova's: an NMI for the guest, whose
 * kernel then does what it is configured to (typically panic and write a crash dump). ACTIVE, PAUSED,
 * RESCUE, VERIFY_RESIZE and ERROR servers with no task and a host; locked ones are refused (admins
 * pass). No task is set: the action is recorded and cast, and the answer is 202.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ServiceUnavailable } from '../../../common/errors.ts';
import { InstanceAction, startAction } from '../../../objects/instance-actions.ts';
import { instancePayload } from '../../../objects/instance-payload.ts';
import type { Instance } from '../../../objects/instances.ts';
import { VmState } from '../../../wire/messages/instance-states.ts';
import type { ComputeApiDeps } from '../deps.ts';
import { requireVersion } from '../microversion.ts';
import { validateBody } from '../validate.ts';
import { assertActionAllowed } from './actions.ts';

const TriggerCrashDumpSchema = Type.Object({ trigger_crash_dump: Type.Null() }, { additionalProperties: false });

/** Nova's ALLOW_TRIGGER_CRASH_DUMP; the rule's setTask is unused (this action sets none). */
const CRASH_DUMP = {
  name: 'trigger_crash_dump',
  action: InstanceAction.TRIGGER_CRASH_DUMP,
  vmStates: [VmState.ACTIVE, VmState.PAUSED, VmState.RESCUED, VmState.RESIZED, VmState.ERROR],
  taskStates: [null],
  needsHost: true,
  setTask: '',
};

export async function triggerCrashDump(
  deps: ComputeApiDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  instance: Instance,
): Promise<void> {
  requireVersion(request, '2.17');
  validateBody(TriggerCrashDumpSchema, request.body);
  assertActionAllowed(instance, CRASH_DUMP, request.ctx.isAdmin);
  await startAction(deps.database.db, request.ctx, instance.uuid, CRASH_DUMP.action);
  try {
    await deps.compute.triggerCrashDump(request.ctx, instance.host!, instancePayload(instance));
  } catch (err) {
    throw new ServiceUnavailable(
      `The compute service of host ${instance.host} could not be reached: ${(err as Error).message}`,
    );
  }
  void reply.code(202);
}
