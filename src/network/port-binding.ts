/**
 * Port binding (Neutron's portbindings extension) as the Linux bridge mechanism driver answers it: a
 * port bound to a host with vnic_type `normal` plugs into a bridge (vif_type `bridge`) with the
 * hypervisor's filtering; any other vnic_type cannot be bound by Stratus's datapath.
 */
export const VNIC_TYPES = [
  'normal',
  'direct',
  'macvtap',
  'baremetal',
  'direct-physical',
  'virtio-forwarder',
  'smart-nic',
  'vdpa',
  'remote-managed',
] as const;

export const VIF_TYPE_UNBOUND = 'unbound';
export const VIF_TYPE_BINDING_FAILED = 'binding_failed';
export const VIF_TYPE_BRIDGE = 'bridge';

export interface Binding {
  binding_host_id: string;
  binding_vif_type: string;
  binding_vif_details: string;
}

export function bindingFor(hostId: string, vnicType: string): Binding {
  if (hostId === '') return { binding_host_id: '', binding_vif_type: VIF_TYPE_UNBOUND, binding_vif_details: '{}' };
  if (vnicType !== 'normal') {
    return { binding_host_id: hostId, binding_vif_type: VIF_TYPE_BINDING_FAILED, binding_vif_details: '{}' };
  }
  return {
    binding_host_id: hostId,
    binding_vif_type: VIF_TYPE_BRIDGE,
    binding_vif_details: JSON.stringify({ connectivity: 'l2', port_filter: true }),
  };
}
