/**
 * loadConfig: defaults, then each file in order (a later one wins option by option), then overrides;
 * $state_path interpolation; and errors that name file:line, section, option and what was expected.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { ConfigError } from '../../../src/common/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'stratus-config-'));
let counter = 0;
function confFile(text: string, name = `c${++counter}.conf`): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Asserts loadConfig throws a ConfigError whose message matches every pattern. */
function assertConfigError(load: () => unknown, ...patterns: (RegExp | string)[]): void {
  assert.throws(load, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    for (const p of patterns) {
      if (typeof p === 'string') assert.ok(err.message.includes(p), `'${err.message}' should include '${p}'`);
      else assert.match(err.message, p);
    }
    return true;
  });
}

describe('loadConfig', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('gives the declared defaults, with $state_path expanded in them', () => {
    const config = loadConfig();
    assert.equal(config.DEFAULT.report_interval, 10);
    assert.equal(config.DEFAULT.cpu_allocation_ratio, null);
    assert.equal(config.DEFAULT.state_path, resolve('state'));
    assert.equal(config.database.connection, `sqlite:///${resolve('state')}/stratus.sqlite`);
    assert.equal(config.image.filesystem_store_datadir, `${resolve('state')}/images`);
    assert.equal(config.filter_scheduler.weight_classes.length, 6, 'every weigher, as Nova’s all_weighers');
    assert.equal(config.filter_scheduler.build_failure_weight_multiplier, 1000000.0);
    assert.equal(config.compute.consecutive_build_service_disable_threshold, 10);
  });

  it('defaults follow a state_path set in a file, whichever file sets it', () => {
    const first = confFile('[database]\nmax_retries = 3\n');
    const second = confFile('[DEFAULT]\nstate_path = /srv/stratus\n');
    const config = loadConfig([first, second]);
    assert.equal(config.database.connection, 'sqlite:////srv/stratus/stratus.sqlite');
    assert.equal(config.image.filesystem_store_datadir, '/srv/stratus/images');
  });

  it('expands $name, ${name} and $$ in values given in a file', () => {
    const file = confFile(
      '[DEFAULT]\nstate_path = /var/lib/stratus\nhost = h-${state_path}\n' +
        '[image]\nfilesystem_store_datadir = $state_path/glance/$host\n' +
        '[database]\nconnection = mysql+pymysql://u:pa$$word@db/stratus\n',
    );
    const config = loadConfig([file]);
    assert.equal(config.DEFAULT.host, 'h-/var/lib/stratus');
    assert.equal(config.image.filesystem_store_datadir, '/var/lib/stratus/glance/h-/var/lib/stratus');
    assert.equal(config.database.connection, 'mysql+pymysql://u:pa$word@db/stratus');
  });

  it('refuses a reference to something that is not a [DEFAULT] option', () => {
    const file = confFile('[image]\nfilesystem_store_datadir = $nowhere/images\n');
    assertConfigError(() => loadConfig([file]), '$nowhere', 'not a [DEFAULT] option');
  });

  it('lets a later file win, option by option, and overrides win over every file', () => {
    const a = confFile('[DEFAULT]\nreport_interval = 5\nservice_down_time = 30\ndebug = true\n');
    const b = confFile('[DEFAULT]\nreport_interval = 7\n[scheduler]\nmax_attempts = 5\n');
    const config = loadConfig([a, b]);
    assert.equal(config.DEFAULT.report_interval, 7);
    assert.equal(config.DEFAULT.service_down_time, 30);
    assert.equal(config.DEFAULT.debug, true);
    assert.equal(config.scheduler.max_attempts, 5);
    assert.equal(loadConfig([b, a]).DEFAULT.report_interval, 5);
    const overridden = loadConfig([a, b], { DEFAULT: { report_interval: '99' }, scheduler: { max_attempts: '2' } });
    assert.equal(overridden.DEFAULT.report_interval, 99);
    assert.equal(overridden.DEFAULT.service_down_time, 30);
    assert.equal(overridden.scheduler.max_attempts, 2);
  });

  it('lets the last occurrence of a repeated single-valued key win', () => {
    const file = confFile('[DEFAULT]\nreport_interval = 1\nreport_interval = 2\n[DEFAULT]\nreport_interval = 3\n');
    assert.equal(loadConfig([file]).DEFAULT.report_interval, 3);
  });

  it('keeps ; and # inside values, e.g. a URL, and reads continuation lines', () => {
    const file = confFile(
      '# comment\n; comment\n[DEFAULT]\ntransport_url = rabbit://nova:se;cr#et@rabbit:5672/;vhost\n' +
        '[filter_scheduler]\nenabled_filters = ComputeFilter,\n    RamFilter,\n    RetryFilter\n',
    );
    const config = loadConfig([file]);
    assert.equal(config.DEFAULT.transport_url, 'rabbit://nova:se;cr#et@rabbit:5672/;vhost');
    // A continuation line joins the value with a newline; list parsing trims the pieces.
    assert.deepEqual(config.filter_scheduler.enabled_filters, ['ComputeFilter', 'RamFilter', 'RetryFilter']);
  });

  it('parses booleans, floats, lists and optional floats', () => {
    const file = confFile(
      '[DEFAULT]\ndebug = Yes\nresume_guests_state_on_host_boot = off\ncpu_allocation_ratio = 16.0\nram_allocation_ratio =\n' +
        '[filter_scheduler]\nram_weight_multiplier = -1.5\nweight_classes = RAMWeigher, CPUWeigher\n',
    );
    const config = loadConfig([file]);
    assert.equal(config.DEFAULT.debug, true);
    assert.equal(config.DEFAULT.resume_guests_state_on_host_boot, false);
    assert.equal(config.DEFAULT.cpu_allocation_ratio, 16);
    assert.equal(config.DEFAULT.ram_allocation_ratio, null);
    assert.equal(config.filter_scheduler.ram_weight_multiplier, -1.5);
    assert.deepEqual(config.filter_scheduler.weight_classes, ['RAMWeigher', 'CPUWeigher']);
  });

  it('refuses an unknown section, naming file:line and the known sections', () => {
    const file = confFile('[DEFAULT]\ndebug = true\n\n[databse]\nconnection = sqlite://\n');
    assertConfigError(
      () => loadConfig([file]),
      `${file}:5:`,
      'unknown section [databse]',
      /known sections: DEFAULT, .*database/,
    );
  });

  it('refuses an unknown option, with a did-you-mean suggestion', () => {
    const file = confFile('[DEFAULT]\nreport_intervall = 5\n');
    assertConfigError(
      () => loadConfig([file]),
      `${file}:2:`,
      "unknown option 'report_intervall' in [DEFAULT]",
      'did you mean report_interval?',
    );
    const far = confFile('[scheduler]\nzzz = 1\n');
    assertConfigError(
      () => loadConfig([far]),
      `${far}:2:`,
      "unknown option 'zzz' in [scheduler]",
      "see 'stratus config show'",
    );
  });

  const malformed: [string, string, string, RegExp][] = [
    ['int', '[DEFAULT]\nreport_interval = ten', '[DEFAULT] report_interval', /expected an integer, got 'ten'/],
    ['int out of range', '[DEFAULT]\nreport_interval = 0', '[DEFAULT] report_interval', /expected a value >= 1, got 0/],
    ['bool', '[DEFAULT]\ndebug = maybe', '[DEFAULT] debug', /expected true or false, got 'maybe'/],
    [
      'float',
      '[filter_scheduler]\nram_weight_multiplier = 1.5x',
      '[filter_scheduler] ram_weight_multiplier',
      /expected a number, got '1.5x'/,
    ],
    [
      'optional float',
      '[DEFAULT]\ncpu_allocation_ratio = lots',
      '[DEFAULT] cpu_allocation_ratio',
      /expected a number, got 'lots'/,
    ],
    [
      'list choice',
      '[filter_scheduler]\nenabled_filters = ComputeFilter, RamFiltre',
      '[filter_scheduler] enabled_filters',
      /unknown entry 'RamFiltre'; expected entries from ComputeFilter, .*RamFilter/,
    ],
    [
      'string choice',
      '[api]\nauth_strategy = ldap',
      '[api] auth_strategy',
      /expected one of keystone, noauth2, got 'ldap'/,
    ],
  ];
  for (const [kind, text, option, expected] of malformed) {
    it(`refuses a malformed ${kind}, naming file:line, section, option and what was expected`, () => {
      const file = confFile(`# leading comment\n${text}\n`);
      assertConfigError(() => loadConfig([file]), `${file}:3: bad value for ${option}: `, expected);
    });
  }

  it('names the file and line of a syntax error', () => {
    const file = confFile('[DEFAULT]\ndebug = true\nthis is not an option\n');
    assertConfigError(() => loadConfig([file]), `malformed config file ${file}:3: cannot read 'this is not an option'`);
  });

  it('refuses a missing file, naming it', () => {
    const missing = join(dir, 'does-not-exist.conf');
    assertConfigError(() => loadConfig([missing]), `cannot read config file ${missing}`, 'ENOENT');
  });

  it('checks overrides like file values, naming them as overrides', () => {
    assertConfigError(
      () => loadConfig([], { DEFAULT: { debug: 'sometimes' } }),
      'overrides: bad value for [DEFAULT] debug',
      'expected true or false',
    );
    assertConfigError(
      () => loadConfig([], { DEFAULT: { nope: '1' } } as unknown as Parameters<typeof loadConfig>[1]),
      "overrides: unknown option 'nope' in [DEFAULT]",
    );
  });
});
