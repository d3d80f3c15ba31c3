/** `stratus config show`: the effective configuration as INI, with passwords masked. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/common/config/load-config.ts';
import { parseIni } from '../../../src/common/config/ini-parser.ts';
import { maskUrlPassword, renderConfig } from '../../../src/common/config/show-config.ts';

describe('renderConfig', () => {
  const config = loadConfig([], {
    DEFAULT: { transport_url: 'rabbit://nova:rabbit-secret@rabbit.example:5672/nova', report_interval: '12' },
    database: { connection: 'mysql+pymysql://stratus:db-secret@db.example:3306/stratus?charset=utf8' },
  });

  it('masks the passwords of transport_url and [database] connection, keeping the rest of the URL', () => {
    const text = renderConfig(config);
    assert.doesNotMatch(text, /rabbit-secret|db-secret/);
    assert.match(text, /^transport_url = rabbit:\/\/nova:\*\*\*\*@rabbit\.example:5672\/nova$/m);
    assert.match(text, /^connection = mysql\+pymysql:\/\/stratus:\*\*\*\*@db\.example:3306\/stratus\?charset=utf8$/m);
  });

  it('masks every password of a transport_url with several brokers', () => {
    const many = loadConfig([], {
      DEFAULT: { transport_url: 'rabbit://a:first-secret@h1:5672,b:second-secret@h2:5672/v' },
    });
    const text = renderConfig(many, false);
    assert.doesNotMatch(text, /first-secret|second-secret/);
    assert.match(text, /^transport_url = rabbit:\/\/a:\*\*\*\*@h1:5672,b:\*\*\*\*@h2:5672\/v$/m);
  });

  it('renders every section and option, readable back by the INI parser with the same values', () => {
    const text = renderConfig(config, false);
    const entries = parseIni(text, 'show');
    const get = (section: string, key: string) => entries.find((e) => e.section === section && e.key === key)?.value;
    assert.equal(get('DEFAULT', 'report_interval'), '12');
    assert.equal(get('filter_scheduler', 'enabled_filters'), config.filter_scheduler.enabled_filters.join(','));
    assert.equal(get('DEFAULT', 'cpu_allocation_ratio'), '');
    assert.doesNotMatch(text, /^#/m);
    assert.match(renderConfig(config), /^# Seconds between service heartbeats\. \(integer\)$/m);
  });

  it('maskUrlPassword leaves URLs without a password alone', () => {
    assert.equal(maskUrlPassword('sqlite:////var/lib/stratus/s.sqlite'), 'sqlite:////var/lib/stratus/s.sqlite');
    assert.equal(maskUrlPassword('mysql://root@127.0.0.1/x'), 'mysql://root@127.0.0.1/x');
    assert.equal(maskUrlPassword('fake://'), 'fake://');
    assert.equal(maskUrlPassword('postgresql://u:p%40ss@h/db'), 'postgresql://u:****@h/db');
  });
});
