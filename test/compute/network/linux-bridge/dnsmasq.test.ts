/** dnsmasq's files and command line for a network's DHCP on this host. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dhcpFiles, dnsmasqArgs, hostsFile, optsFile } from '../../../../src/compute/network/linux-bridge/dnsmasq.ts';
import { planHost } from '../../../../src/compute/network/linux-bridge/host-plan.ts';
import { network, vif } from '../../../helpers/network-lab.ts';

const net = network({
  id: 'tenant-network',
  projectId: 'p1',
  cidr: '10.1.0.0/20',
  gateway: '10.1.0.1',
  mtu: 1450,
  dns: ['192.0.2.53', '192.0.2.54'],
  hostRoutes: [{ destination: '172.16.0.0/16', nexthop: '10.1.0.254' }],
});
const port = vif({ id: 'port-a', mac: 'fa:16:3e:00:00:01', network: net, ip: '10.1.0.5' });
const planned = planHost([{ instanceUuid: 'vm', projectId: 'project', vifs: [port], extraSpecs: {} }], new Map())
  .networks[0]!;

describe('dnsmasq for a network', () => {
  it("lists only this host's ports as static entries", () => {
    assert.equal(hostsFile(planned, 600), 'fa:16:3e:00:00:01,10.1.0.5,600\n');
  });

  it('hands out router, DNS servers, host routes with the default route, and MTU per subnet', () => {
    assert.equal(
      optsFile(planned),
      [
        'tag:s0,option:router,10.1.0.1',
        'tag:s0,option:dns-server,192.0.2.53,192.0.2.54',
        'tag:s0,option:classless-static-route,172.16.0.0/16,10.1.0.254,0.0.0.0/0,10.1.0.1',
        'tag:s0,option:mtu,1450',
        '',
      ].join('\n'),
    );
  });

  it('serves a static range only, ignores unknown clients and answers no DNS', () => {
    const args = dnsmasqArgs(planned, dhcpFiles('/state', net.id), 600);
    assert.ok(args.includes('--dhcp-range=set:s0,10.1.0.0,static,255.255.240.0,600s'));
    assert.ok(args.includes('--dhcp-ignore=tag:!known'));
    assert.ok(args.includes('--port=0'));
    assert.ok(args.includes(`--interface=${net.bridge}`));
    assert.ok(args.includes(`--dhcp-hostsfile=/state/dhcp/${net.id}/hosts`));
  });
});
