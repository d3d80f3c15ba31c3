/**
 * A running guest's diagnostics as a compute host answers `get_diagnostics`: the figures of Nova's
 * standard diagnostics (microversion 2.48), plus each disk's device name, which the API's older free-form
 * format (`vda_read`, ...) needs. Counters a driver cannot read are null.
 */
import { Type, type Static } from 'typebox';

const Counter = Type.Union([Type.Integer(), Type.Null()]);

export const GuestDiagnosticsSchema = Type.Object({
  /** Nova's power state names: pending, running, paused, shutdown, crashed, suspended. */
  state: Type.String(),
  driver: Type.String(),
  hypervisor: Type.Union([Type.String(), Type.Null()]),
  hypervisor_os: Type.Union([Type.String(), Type.Null()]),
  /** Seconds since the guest started. */
  uptime: Counter,
  config_drive: Type.Boolean(),
  /** MiB. */
  memory_details: Type.Object({ maximum: Counter, used: Counter }),
  /** `time`: CPU time the vCPU used, in nanoseconds; `utilisation`: percent, null when unknown. */
  cpu_details: Type.Array(Type.Object({ id: Counter, time: Counter, utilisation: Counter })),
  nic_details: Type.Array(
    Type.Object({
      mac_address: Type.Union([Type.String(), Type.Null()]),
      rx_octets: Counter,
      rx_errors: Counter,
      rx_drop: Counter,
      rx_packets: Counter,
      rx_rate: Counter,
      tx_octets: Counter,
      tx_errors: Counter,
      tx_drop: Counter,
      tx_packets: Counter,
      tx_rate: Counter,
    }),
  ),
  disk_details: Type.Array(
    Type.Object({
      /** The guest's name of the disk (vda, vdb, ...). */
      device: Type.String(),
      read_bytes: Counter,
      read_requests: Counter,
      write_bytes: Counter,
      write_requests: Counter,
      errors_count: Counter,
    }),
  ),
});

export type GuestDiagnostics = Static<typeof GuestDiagnosticsSchema>;

/** Nova's power_state.STATE_MAP: the name of a PowerState value. */
export function powerStateName(powerState: number): string {
  const names: Record<number, string> = {
    0: 'pending',
    1: 'running',
    3: 'paused',
    4: 'shutdown',
    6: 'crashed',
    7: 'suspended',
  };
  return names[powerState] ?? 'pending';
}
