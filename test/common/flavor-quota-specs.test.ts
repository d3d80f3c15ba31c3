/** The quota:* extra specs: Nova's validation rules and what a flavor's specs turn into. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cpuQuota, diskThrottle, quotaSpecProblems, vifQos } from '../../src/common/flavor-quota-specs.ts';

describe('flavor quota specs', () => {
  it('accepts non-negative integers and leaves keys it does not apply alone', () => {
    assert.deepEqual(
      quotaSpecProblems({
        'quota:disk_read_iops_sec': '100',
        'quota:cpu_shares': '0',
        'quota:vif_inbound_average': '1024',
        'hw:cpu_policy': 'dedicated',
      }),
      [],
    );
  });

  it('names every key whose value is not an integer or is negative', () => {
    assert.deepEqual(
      quotaSpecProblems({
        'quota:disk_total_bytes_sec': '1.5',
        'quota:cpu_quota': '-1',
        'quota:cpu_period': 'fast',
        'quota:disk_write_iops_sec': '',
      }),
      [
        "extra spec 'quota:disk_total_bytes_sec': '1.5' is not an integer",
        "extra spec 'quota:cpu_quota': -1 is less than the minimum of 0",
        "extra spec 'quota:cpu_period': 'fast' is not an integer",
        "extra spec 'quota:disk_write_iops_sec': '' is not an integer",
      ],
    );
  });

  it('turns the disk keys into block_set_io_throttle fields, 0 meaning unlimited', () => {
    assert.equal(diskThrottle({ 'hw:cpu_policy': 'shared' }), null);
    assert.equal(diskThrottle({ 'quota:disk_read_iops_sec': '0' }), null);
    assert.deepEqual(
      diskThrottle({
        'quota:disk_read_iops_sec': '100',
        'quota:disk_write_iops_sec': '50',
        'quota:disk_total_bytes_sec': '1048576',
      }),
      { bps: 1048576, bps_rd: 0, bps_wr: 0, iops: 0, iops_rd: 100, iops_wr: 50 },
    );
  });

  it('reads the CPU keys, skipping unset, zero and unusable values', () => {
    assert.equal(cpuQuota({}), null);
    assert.equal(cpuQuota({ 'quota:cpu_quota': '0' }), null);
    assert.deepEqual(cpuQuota({ 'quota:cpu_quota': '25000', 'quota:cpu_period': '100000', 'quota:cpu_shares': 'x' }), {
      quota: 25000,
      period: 100000,
      shares: null,
    });
  });

  it('refuses a network limit that is not an integer, as Nova does', () => {
    assert.deepEqual(quotaSpecProblems({ 'quota:vif_outbound_burst': 'x' }), [
      "extra spec 'quota:vif_outbound_burst': 'x' is not an integer",
    ]);
  });

  it('reads the network limits by direction; a peak or burst without an average limits nothing', () => {
    assert.equal(vifQos({}), null);
    assert.equal(vifQos({ 'quota:vif_inbound_peak': '100', 'quota:vif_outbound_burst': '10' }), null);
    assert.deepEqual(
      vifQos({
        'quota:vif_inbound_average': '1000',
        'quota:vif_inbound_peak': '2000',
        'quota:vif_outbound_average': '500',
        'quota:vif_outbound_burst': '64',
        'quota:vif_outbound_peak': '0',
      }),
      {
        inbound: { averageKBps: 1000, peakKBps: 2000, burstKB: null },
        outbound: { averageKBps: 500, peakKBps: null, burstKB: 64 },
      },
    );
  });
});
