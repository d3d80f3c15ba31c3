/**
 * Nova's instance notification payloads (nova/notifications/objects/instance.py) built from what a
 * compute host knows of an instance: the InstancePayload its RPC message carried, updated by the state
 * changes it has sent since (compute/notifications/tracker.ts); the API fills in what its database knows
 * beyond that for the instance.update it sends (api/compute/notifications/instance-update.ts). Fields a compute host cannot know without a database
 * (reservation_id, created_at, key_name, availability_zone, description, architecture) are null, as Nova
 * sends a field it has no value for; the flavor's is_public/disabled/description, which the instance's
 * flavor copy does not carry, are sent as a flavor created with Nova's defaults has them.
 */
import type { RequestContext } from '../../common/context.ts';
import { versionedObject, type VersionedObject } from '../../common/notifications/notifier.ts';
import { flavorPayload, notificationTime } from '../../common/notifications/payload-fields.ts';
import { powerStateName } from '../messages/guest-diagnostics.ts';
import type { InstancePayload } from '../messages/instance-payload.ts';
import type { NetworkInfo } from '../messages/network-info.ts';

/** What the tracker knows of an instance beyond its payload. */
export interface InstanceFacts {
  instance: InstancePayload;
  networkInfo: NetworkInfo;
  progress: number | null;
  deletedAt: string | null;
}

export interface Fault {
  exception: string;
  message: string;
  traceback: string;
}

/** The instance's flavor copy carries no is_public/disabled/description: a default flavor's values. */
function instanceFlavorPayload(instance: InstancePayload): VersionedObject {
  const f = instance.flavor;
  const defaults = { rxtx_factor: 1.0, vcpu_weight: 0, disabled: false, is_public: true, description: null };
  return flavorPayload({ ...f, ...defaults }, f.extra_specs, null);
}

function ipPayloads(networkInfo: NetworkInfo): VersionedObject[] {
  return networkInfo.flatMap((vif) =>
    vif.fixed_ips.map((ip) =>
      versionedObject('IpPayload', '1.0', {
        label: vif.network.label,
        mac: vif.mac_address,
        meta: {},
        port_uuid: vif.id,
        version: ip.ip_address.includes(':') ? 6 : 4,
        address: ip.ip_address,
        device_name: vif.devname,
      }),
    ),
  );
}

/** InstancePayload 1.9's fields (1.8 added locked_reason, 1.9 shares). */
function instanceData(ctx: RequestContext, facts: InstanceFacts): Record<string, unknown> {
  const i = facts.instance;
  const deleted = facts.deletedAt !== null;
  return {
    uuid: i.uuid,
    user_id: i.user_id,
    tenant_id: i.project_id,
    reservation_id: null,
    display_name: i.display_name,
    display_description: null,
    host_name: i.hostname,
    host: i.host,
    node: i.node,
    os_type: null,
    architecture: null,
    availability_zone: null,
    flavor: instanceFlavorPayload(i),
    image_uuid: i.image_ref,
    key_name: null,
    kernel_id: '',
    ramdisk_id: '',
    created_at: null,
    launched_at: notificationTime(i.launched_at),
    terminated_at: deleted ? notificationTime(facts.deletedAt) : null,
    deleted_at: deleted ? notificationTime(facts.deletedAt) : null,
    updated_at: null,
    state: deleted ? 'deleted' : i.vm_state,
    power_state: powerStateName(i.power_state),
    task_state: i.task_state,
    progress: facts.progress,
    ip_addresses: ipPayloads(facts.networkInfo),
    block_devices: [],
    metadata: { ...i.metadata },
    locked: false,
    auto_disk_config: 'MANUAL',
    // As Nova: no request id for what the host does on its own (its periodic tasks have no user).
    request_id: ctx.userId && ctx.projectId ? ctx.requestId : null,
    action_initiator_user: ctx.userId,
    action_initiator_project: ctx.projectId,
    // The reason is the API's to know (instance-update.ts fills it in); a host sends it unknown.
    locked_reason: null,
    // Nova sends null unless [notifications] include_share_mapping, and Stratus attaches no shares.
    shares: null,
  };
}

function exceptionPayload(fault: Fault | null): VersionedObject | null {
  if (!fault) return null;
  return versionedObject('ExceptionPayload', '1.1', {
    module_name: 'stratus.compute.manager',
    function_name: 'compute_action',
    exception: fault.exception,
    exception_message: fault.message,
    traceback: fault.traceback,
  });
}

/** The payload classes the action notifications use, with their Nova versions and extra fields. */
export type ActionPayloadKind =
  | { kind: 'action' }
  | { kind: 'create' }
  | { kind: 'rebuild' }
  | { kind: 'rescue'; rescueImageRef: string | null }
  | { kind: 'snapshot'; snapshotImageId: string };

export function actionPayload(
  ctx: RequestContext,
  facts: InstanceFacts,
  fault: Fault | null,
  payload: ActionPayloadKind,
): VersionedObject {
  const data = { ...instanceData(ctx, facts), fault: exceptionPayload(fault) };
  switch (payload.kind) {
    case 'create':
      return versionedObject('InstanceCreatePayload', '1.13', {
        ...data,
        keypairs: [],
        tags: [],
        trusted_image_certificates: null,
        instance_name: `instance-${facts.instance.uuid}`,
      });
    case 'rebuild':
      return versionedObject('InstanceActionRebuildPayload', '1.10', { ...data, trusted_image_certificates: null });
    case 'rescue':
      return versionedObject('InstanceActionRescuePayload', '1.4', {
        ...data,
        rescue_image_ref: payload.rescueImageRef,
      });
    case 'snapshot':
      return versionedObject('InstanceActionSnapshotPayload', '1.10', {
        ...data,
        snapshot_image_id: payload.snapshotImageId,
      });
    default:
      return versionedObject('InstanceActionPayload', '1.9', data);
  }
}

/**
 * Nova's instance.update: the states before and after, the current month as the audit period, and the
 * display name before a rename (`oldDisplayName`, null when the name did not change).
 */
export function updatePayload(
  ctx: RequestContext,
  facts: InstanceFacts,
  old: { vm_state: string; task_state: string | null },
  now: Date,
  oldDisplayName: string | null = null,
): VersionedObject {
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  // 2.0 dropped the always-empty bandwidth list.
  return versionedObject('InstanceUpdatePayload', '2.1', {
    ...instanceData(ctx, facts),
    state_update: versionedObject('InstanceStateUpdatePayload', '1.0', {
      old_state: old.vm_state,
      state: facts.instance.vm_state,
      old_task_state: old.task_state,
      new_task_state: facts.instance.task_state,
    }),
    audit_period: versionedObject('AuditPeriodPayload', '1.0', {
      audit_period_beginning: notificationTime(monthStart.toISOString()),
      audit_period_ending: notificationTime(now.toISOString()),
    }),
    old_display_name: oldDisplayName,
    tags: [],
  });
}
