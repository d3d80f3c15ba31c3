/** The tc commands of a port's inbound limit (Nova's KB/s and KB, tc's kbps and kb). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { tcQosCommands } from '../../../../src/compute/network/linux-bridge/tc-qos.ts';

describe('tc limits of a port', () => {
  it('shapes what the guest receives with an HTB class: average, peak as ceiling, burst', () => {
    const commands = tcQosCommands('tapx', {
      inbound: { averageKBps: 1000, peakKBps: 2000, burstKB: 64 },
      outbound: { averageKBps: 10, peakKBps: null, burstKB: null },
    });
    assert.deepEqual(commands, [
      ['tc', 'qdisc', 'replace', 'dev', 'tapx', 'root', 'handle', '1:', 'htb', 'default', '1'],
      [
        'tc',
        'class',
        'replace',
        'dev',
        'tapx',
        'parent',
        '1:',
        'classid',
        '1:1',
        'htb',
        'rate',
        '1000kbps',
        'ceil',
        '2000kbps',
        'burst',
        '64kb',
      ],
    ]);
  });

  it('has nothing to do without an inbound limit', () => {
    assert.deepEqual(
      tcQosCommands('tapx', { inbound: null, outbound: { averageKBps: 10, peakKBps: null, burstKB: null } }),
      [],
    );
  });
});
