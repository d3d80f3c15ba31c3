/**
 * Rescue and diagnostics (Nova's API reference, servers-actions and os-server-diagnostics): the rescue
 * action answers 200 with `adminPass` (or `{}` when the deployment hides passwords); unrescue and
 * trigger_crash_dump answer 202 with no body (server-actions.ts). GET /servers/{id}/diagnostics answers
 * free-form counters before 2.48 and the standard body from 2.48.
 */
import { strictObject, type Json } from './common.ts';
import type { ResponseSchema } from './types.ts';

const INT_OR_NULL: Json = { type: ['integer', 'null'] };
const STRING_OR_NULL: Json = { type: ['string', 'null'] };
const counters = (names: readonly string[]): Json =>
  strictObject(Object.fromEntries(names.map((n) => [n, INT_OR_NULL])));

const STANDARD_DIAGNOSTICS = strictObject({
  state: { enum: ['pending', 'running', 'paused', 'shutdown', 'crashed', 'suspended'] },
  driver: { enum: ['ironic', 'libvirt', 'vmwareapi', 'xenapi'] },
  hypervisor: STRING_OR_NULL,
  hypervisor_os: STRING_OR_NULL,
  uptime: INT_OR_NULL,
  config_drive: { type: 'boolean' },
  num_cpus: INT_OR_NULL,
  num_nics: INT_OR_NULL,
  num_disks: INT_OR_NULL,
  memory_details: counters(['maximum', 'used']),
  cpu_details: { type: 'array', items: counters(['id', 'time', 'utilisation']) },
  nic_details: {
    type: 'array',
    items: strictObject({
      mac_address: STRING_OR_NULL,
      ...Object.fromEntries(
        ['rx_drop', 'rx_errors', 'rx_octets', 'rx_packets', 'rx_rate', 'tx_drop', 'tx_errors', 'tx_octets']
          .concat(['tx_packets', 'tx_rate'])
          .map((n) => [n, INT_OR_NULL]),
      ),
    }),
  },
  disk_details: {
    type: 'array',
    items: counters(['errors_count', 'read_bytes', 'read_requests', 'write_bytes', 'write_requests']),
  },
});

/** Before 2.48 the keys are the driver's own; every value is a number. */
const LEGACY_DIAGNOSTICS: Json = { type: 'object', additionalProperties: INT_OR_NULL };

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  {
    method: 'POST',
    path: '/servers/:id/action',
    status: 200,
    schema: strictObject({ adminPass: { type: 'string' } }, []),
  },
  { method: 'GET', path: '/servers/:id/diagnostics', status: 200, maxVersion: '2.47', schema: LEGACY_DIAGNOSTICS },
  { method: 'GET', path: '/servers/:id/diagnostics', status: 200, minVersion: '2.48', schema: STANDARD_DIAGNOSTICS },
];
