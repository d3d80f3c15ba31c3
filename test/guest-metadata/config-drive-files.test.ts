/** The config drive's files: Nova's metadata_for_config_drive, from the same documents the service serves. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configDriveFiles } from '../../src/guest-metadata/config-drive-files.ts';
import { buildMetadataTree } from '../../src/guest-metadata/metadata-tree.ts';
import { fixedRandom, guestInput, SSH_KEY } from './fixtures.ts';

describe('configDriveFiles', () => {
  it('writes the EC2 versions Nova keeps and every OpenStack version, with latest', () => {
    const files = configDriveFiles(guestInput(), { random: fixedRandom });
    const paths = [...files.keys()];
    assert.deepEqual(
      paths.filter((p) => p.startsWith('ec2/')),
      [
        'ec2/2009-04-04/user-data',
        'ec2/2009-04-04/meta-data.json',
        'ec2/latest/user-data',
        'ec2/latest/meta-data.json',
      ],
    );
    assert.deepEqual(
      paths.filter((p) => p.startsWith('openstack/latest/')),
      [
        'openstack/latest/meta_data.json',
        'openstack/latest/user_data',
        'openstack/latest/vendor_data.json',
        'openstack/latest/network_data.json',
        'openstack/latest/vendor_data2.json',
      ],
    );
    assert.deepEqual(
      paths.filter((p) => p.startsWith('openstack/2012-08-10/')),
      ['openstack/2012-08-10/meta_data.json', 'openstack/2012-08-10/user_data'],
    );
    assert.ok(!paths.some((p) => p.endsWith('/password')), 'the password is posted to the service, not on a drive');
  });

  it('writes the same OpenStack documents the service serves, admin_pass included when given', () => {
    const input = guestInput({ admin_pass: 'pw' });
    const files = configDriveFiles(input, { random: fixedRandom });
    const tree = buildMetadataTree(input, { random: fixedRandom });
    for (const path of ['meta_data.json', 'network_data.json', 'vendor_data2.json', 'user_data']) {
      assert.deepEqual(files.get(`openstack/latest/${path}`), tree.get(`openstack/latest/${path}`)!.body, path);
    }
    assert.equal(
      (JSON.parse(files.get('openstack/latest/meta_data.json')!.toString()) as { admin_pass: string }).admin_pass,
      'pw',
    );
  });

  it('writes EC2 meta-data as one JSON document without the listing name of the key', () => {
    const files = configDriveFiles(guestInput(), { skipVersions: [] });
    assert.ok(files.has('ec2/1.0/meta-data.json'));
    const meta = JSON.parse(files.get('ec2/latest/meta-data.json')!.toString()) as Record<string, unknown>;
    assert.deepEqual(meta['public-keys'], { '0': { 'openssh-key': SSH_KEY } });
    assert.deepEqual(meta['placement'], { 'availability-zone': 'nova' });
    assert.deepEqual(meta['security-groups'], ['default', 'web']);
    assert.equal(meta['local-ipv4'], '10.0.0.5');
    assert.equal(files.get('ec2/latest/user-data')!.toString(), '#!/bin/sh\necho hello\n');
  });
});
