/** An InstanceMetadata payload for the builder's tests: a guest with a key, user data, one NIC. */
import { InstanceMetadataShape, type InstanceMetadata } from '../../src/wire/messages/instance-metadata.ts';
import type { Vif } from '../../src/wire/messages/network-info.ts';
import { testVif } from '../helpers/vif.ts';

export const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGvbrWsUfLBOA3jG7V1cXtTnfKd8a6D6vb8NDnE7vNWZ alice@laptop';

/** A static IPv4 subnet with a gateway, two DNS servers and a host route, and a floating IP. */
export function staticVif(): Vif {
  const vif = testVif({ id: 'b9f0d7b4-0d37-4c1f-a1a2-5d4a0d3c8f10', cidr: '10.0.0.0/24', ip: '10.0.0.5' });
  const subnet = vif.network.subnets[0]!;
  subnet.enable_dhcp = false;
  subnet.gateway_ip = '10.0.0.1';
  subnet.dns_nameservers = ['10.0.0.2', '8.8.8.8'];
  subnet.host_routes = [{ destination: '192.168.7.0/24', nexthop: '10.0.0.254' }];
  vif.network.mtu = 1450;
  vif.floating_ips = [
    { id: 'f1', floating_ip_address: '203.0.113.9', fixed_ip_address: '10.0.0.5', floating_network: vif.network },
  ];
  return vif;
}

export function guestInput(overrides: Partial<InstanceMetadata> = {}): InstanceMetadata {
  return InstanceMetadataShape.build({
    uuid: '6a4b5c8e-8d5e-4e1f-9e3a-0f0b1c2d3e4f',
    name: 'web-1',
    hostname: 'web-1.novalocal',
    launch_index: 0,
    availability_zone: 'nova',
    project_id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    reservation_id: 'r-3fhpjulh',
    instance_type: 'm1.small',
    meta: { role: 'web' },
    keys: [{ name: 'mykey', type: 'ssh', data: SSH_KEY }],
    user_data: Buffer.from('#!/bin/sh\necho hello\n').toString('base64'),
    admin_pass: null,
    password: '',
    network_info: [staticVif()],
    security_groups: ['default', 'web'],
    ec2_instance_id: 'i-0000002a',
    ec2_ami_id: 'ami-1b2c3d4e',
    block_device_mapping: { ami: 'vda', root: '/dev/vda', ephemeral0: '/dev/vdb' },
    devices: [],
    dedicated_cpus: [],
    vendor_data: { hello: 'world' },
    created_at: '2026-12-07T00:00:00Z',
    ...overrides,
  });
}

/** A random source that makes the seed predictable: 512 bytes of `fill`. */
export const fixedRandom = (size: number) => Buffer.alloc(size, 7);
