/** The metadata tree against Nova's documented formats (doc/source/user/metadata.rst, base.py). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildMetadataTree, isPasswordPath, treePath } from '../../src/guest-metadata/metadata-tree.ts';
import { fixedRandom, guestInput, SSH_KEY } from './fixtures.ts';

const tree = (overrides = {}, options = {}) =>
  buildMetadataTree(guestInput(overrides), { random: fixedRandom, now: new Date('2026-12-07'), ...options });
const read = (t: ReturnType<typeof tree>, path: string) => t.get(path)?.body.toString();

describe('buildMetadataTree: OpenStack', () => {
  it('lists the versions, each with the documents it adds, and latest as the newest', () => {
    const t = tree();
    assert.equal(
      read(t, 'openstack'),
      [
        '2012-08-10',
        '2013-04-04',
        '2013-10-17',
        '2015-10-15',
        '2016-06-30',
        '2016-10-06',
        '2017-02-22',
        '2018-08-27',
        '2020-10-14',
        '2025-04-04',
        'latest',
      ].join('\n'),
    );
    assert.equal(read(t, 'openstack/2012-08-10'), 'meta_data.json\nuser_data');
    assert.equal(read(t, 'openstack/2013-10-17'), 'meta_data.json\nuser_data\npassword\nvendor_data.json');
    assert.equal(
      read(t, 'openstack/latest'),
      'meta_data.json\nuser_data\npassword\nvendor_data.json\nnetwork_data.json\nvendor_data2.json',
    );
    assert.equal(t.get('openstack/2012-08-10/password'), undefined);
    assert.equal(t.get('openstack/2013-04-04/vendor_data.json'), undefined);
    assert.equal(t.get('openstack/2015-10-15/vendor_data2.json'), undefined);
  });

  it('hides versions dated after today from the listing only', () => {
    const t = tree({}, { now: new Date('2019-01-01') });
    assert.ok(!read(t, 'openstack')!.includes('2020-10-14'));
    assert.ok(t.has('openstack/2025-04-04/meta_data.json'));
  });

  it('writes meta_data.json with the keys and order of Nova, per version', () => {
    const t = tree();
    const seed = Buffer.alloc(512, 7).toString('base64');
    const latest = JSON.parse(read(t, 'openstack/latest/meta_data.json')!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(latest), [
      'uuid',
      'meta',
      'public_keys',
      'keys',
      'hostname',
      'name',
      'launch_index',
      'availability_zone',
      'random_seed',
      'project_id',
      'devices',
      'dedicated_cpus',
    ]);
    assert.deepEqual(latest, {
      uuid: '6a4b5c8e-8d5e-4e1f-9e3a-0f0b1c2d3e4f',
      meta: { role: 'web' },
      public_keys: { mykey: SSH_KEY },
      keys: [{ name: 'mykey', type: 'ssh', data: SSH_KEY }],
      hostname: 'web-1.novalocal',
      name: 'web-1',
      launch_index: 0,
      availability_zone: 'nova',
      random_seed: seed,
      project_id: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      devices: [],
      dedicated_cpus: [],
    });
    assert.equal(t.get('openstack/latest/meta_data.json')!.contentType, 'application/json');
    // Python's json.dumps separators.
    assert.ok(read(t, 'openstack/latest/meta_data.json')!.startsWith('{"uuid": "6a4b5c8e-'));
    const folsom = JSON.parse(read(t, 'openstack/2012-08-10/meta_data.json')!) as Record<string, unknown>;
    assert.deepEqual(Object.keys(folsom), [
      'uuid',
      'meta',
      'public_keys',
      'keys',
      'hostname',
      'name',
      'launch_index',
      'availability_zone',
    ]);
    const newton = JSON.parse(read(t, 'openstack/2016-06-30/meta_data.json')!) as Record<string, unknown>;
    assert.ok('devices' in newton && !('dedicated_cpus' in newton));
  });

  it('leaves out meta, keys and user_data when the server has none, and gives admin_pass only when given', () => {
    const t = tree({ meta: {}, keys: [], user_data: null });
    const doc = JSON.parse(read(t, 'openstack/latest/meta_data.json')!) as Record<string, unknown>;
    assert.ok(!('meta' in doc) && !('public_keys' in doc) && !('keys' in doc) && !('admin_pass' in doc));
    assert.equal(t.get('openstack/latest/user_data'), undefined);
    assert.ok(!read(t, 'openstack/latest')!.includes('user_data'));
    const withPass = JSON.parse(read(tree({ admin_pass: 's3cret' }), 'openstack/latest/meta_data.json')!) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(withPass).slice(0, 4), ['uuid', 'meta', 'admin_pass', 'public_keys']);
    assert.equal(withPass['admin_pass'], 's3cret');
  });

  it('serves user_data decoded, the password as posted, and vendor data from StaticJSON', () => {
    const t = tree({ password: 'ZW5jcnlwdGVk' });
    assert.equal(read(t, 'openstack/latest/user_data'), '#!/bin/sh\necho hello\n');
    assert.equal(read(t, 'openstack/latest/password'), 'ZW5jcnlwdGVk');
    assert.equal(read(t, 'openstack/latest/vendor_data.json'), '{"hello": "world"}');
    assert.equal(read(t, 'openstack/latest/vendor_data2.json'), '{"static": {"hello": "world"}}');
    const off = tree({ vendor_data: null });
    assert.equal(off.get('openstack/latest/vendor_data.json'), undefined, 'Nova answers 404 without StaticJSON');
    assert.equal(read(off, 'openstack/latest/vendor_data2.json'), '{}');
  });

  it('writes network_data.json as text/plain, {} without NICs', () => {
    const t = tree();
    assert.equal(t.get('openstack/latest/network_data.json')!.contentType, 'text/plain');
    const doc = JSON.parse(read(t, 'openstack/latest/network_data.json')!) as { links: unknown[] };
    assert.equal(doc.links.length, 1);
    assert.equal(read(tree({ network_info: [] }), 'openstack/latest/network_data.json'), '{}');
  });
});

describe('buildMetadataTree: EC2', () => {
  it('lists the versions at the root and at ec2/', () => {
    const t = tree();
    const versions =
      '1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15\n2008-02-01\n2008-09-01\n2009-04-04\nlatest';
    assert.equal(read(t, ''), versions);
    assert.equal(read(t, 'ec2'), versions);
  });

  it('lists meta-data with subdirectories marked and the key pair as 0=<name>', () => {
    const t = tree();
    assert.equal(read(t, 'ec2/latest'), 'meta-data/\nuser-data');
    assert.equal(
      read(t, 'ec2/latest/meta-data'),
      [
        'ami-id',
        'ami-launch-index',
        'ami-manifest-path',
        'block-device-mapping/',
        'hostname',
        'instance-action',
        'instance-id',
        'instance-type',
        'local-hostname',
        'local-ipv4',
        'placement/',
        'public-hostname',
        'public-ipv4',
        'public-keys/',
        'reservation-id',
        'security-groups',
      ].join('\n'),
    );
    assert.equal(read(t, 'ec2/latest/meta-data/public-keys'), '0=mykey');
    assert.equal(read(t, 'ec2/latest/meta-data/public-keys/0'), 'openssh-key');
    assert.equal(read(t, 'ec2/latest/meta-data/public-keys/0/openssh-key'), SSH_KEY);
    assert.equal(t.get('ec2/latest/meta-data/public-keys/0/_name'), undefined);
  });

  it('gives the leaves as Nova prints them', () => {
    const t = tree();
    const leaf = (name: string) => read(t, `ec2/latest/meta-data/${name}`);
    assert.equal(leaf('instance-id'), 'i-0000002a');
    assert.equal(leaf('ami-id'), 'ami-1b2c3d4e');
    assert.equal(leaf('ami-launch-index'), '0');
    assert.equal(leaf('hostname'), 'web-1.novalocal');
    assert.equal(leaf('local-hostname'), 'web-1.novalocal');
    assert.equal(leaf('public-hostname'), 'web-1.novalocal');
    assert.equal(leaf('local-ipv4'), '10.0.0.5');
    assert.equal(leaf('public-ipv4'), '203.0.113.9');
    assert.equal(leaf('placement/availability-zone'), 'nova');
    assert.equal(leaf('instance-type'), 'm1.small');
    assert.equal(leaf('reservation-id'), 'r-3fhpjulh');
    assert.equal(leaf('security-groups'), 'default\nweb');
    assert.equal(leaf('block-device-mapping'), 'ami\nephemeral0\nroot');
    assert.equal(leaf('block-device-mapping/root'), '/dev/vda');
    assert.equal(read(t, 'ec2/latest/user-data'), '#!/bin/sh\necho hello\n');
    assert.equal(t.get('ec2/latest/meta-data/hostname')!.contentType, 'text/plain');
  });

  it('adds keys by version as EC2 did', () => {
    const t = tree();
    assert.equal(read(t, 'ec2/1.0/meta-data/local-hostname'), undefined);
    assert.equal(read(t, 'ec2/2007-01-19/meta-data/public-ipv4'), '203.0.113.9');
    assert.equal(read(t, 'ec2/2007-08-29/meta-data/block-device-mapping'), undefined);
    assert.equal(read(t, 'ec2/2008-02-01/meta-data/instance-action'), undefined);
    assert.equal(read(t, 'ec2/2008-09-01/meta-data/instance-action'), 'none');
  });

  it('falls back to the request address without a fixed IPv4 address, and prints a missing zone as None', () => {
    const t = tree({ network_info: [], availability_zone: null }, { address: '10.9.9.9' });
    assert.equal(read(t, 'ec2/latest/meta-data/local-ipv4'), '10.9.9.9');
    assert.equal(read(t, 'ec2/latest/meta-data/public-ipv4'), '');
    assert.equal(read(t, 'ec2/latest/meta-data/placement/availability-zone'), 'None');
    assert.equal(read(t, 'ec2/latest'), 'meta-data/\nuser-data');
    assert.equal(read(tree({ user_data: null }), 'ec2/latest'), 'meta-data/');
    assert.ok(!read(tree({ keys: [] }), 'ec2/latest/meta-data')!.includes('public-keys'));
  });
});

describe('treePath', () => {
  it('normalises as Nova does and takes other paths as EC2', () => {
    assert.equal(treePath('/'), '');
    assert.equal(treePath(''), '');
    assert.equal(treePath('/latest/meta-data/'), 'ec2/latest/meta-data');
    assert.equal(treePath('//2009-04-04//meta-data/./hostname'), 'ec2/2009-04-04/meta-data/hostname');
    assert.equal(treePath('/openstack/latest/../2012-08-10/'), 'openstack/2012-08-10');
    assert.equal(treePath('/ec2/latest/user-data'), 'ec2/latest/user-data');
    assert.equal(treePath('/../../openstack'), 'openstack');
  });

  it('knows the password paths', () => {
    assert.ok(isPasswordPath('openstack/latest/password'));
    assert.ok(isPasswordPath('openstack/2013-04-04/password'));
    assert.ok(!isPasswordPath('ec2/latest/password'));
    assert.ok(!isPasswordPath('openstack/latest/password/x'));
  });
});
