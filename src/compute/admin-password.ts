/**
 * changePassword on the compute host (Nova's set_admin_password): what the API is told when the password
 * could not be set. The driver's own refusals (no guest agent) reach the user as they are; anything else
 * becomes Nova's generic failure, so that nothing the driver said about the password leaks into the answer.
 */
import { InstanceAgentNotEnabled, InstancePasswordSetFailed } from '../common/errors.ts';

export function passwordSetFailed(uuid: string, reason: string): Error {
  return new InstancePasswordSetFailed(`Failed to set admin password on ${uuid} because ${reason}`);
}

export function adminPasswordRefusal(uuid: string, err: unknown): Error {
  if (err instanceof InstanceAgentNotEnabled || err instanceof InstancePasswordSetFailed) return err;
  return passwordSetFailed(uuid, 'error setting admin password');
}
