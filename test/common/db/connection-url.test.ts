/** `[database] connection` as Nova (SQLAlchemy) writes it, and errors that say what was expected. */
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { describeTarget, parseConnectionUrl } from '../../../src/common/db/connection-url.ts';
import { ConfigError } from '../../../src/common/errors.ts';

describe('parseConnectionUrl', () => {
  it('sqlite:////abs is an absolute path', () => {
    assert.deepEqual(parseConnectionUrl('sqlite:////var/lib/stratus/stratus.sqlite'), {
      dialect: 'sqlite',
      path: '/var/lib/stratus/stratus.sqlite',
    });
  });

  it('sqlite:///rel is relative to the working directory', () => {
    assert.deepEqual(parseConnectionUrl('sqlite:///state/stratus.sqlite'), {
      dialect: 'sqlite',
      path: resolve('state/stratus.sqlite'),
    });
  });

  it('sqlite:// (and sqlite:///:memory:) is an in-memory database', () => {
    assert.deepEqual(parseConnectionUrl('sqlite://'), { dialect: 'sqlite', path: ':memory:' });
    assert.deepEqual(parseConnectionUrl('sqlite:///:memory:'), { dialect: 'sqlite', path: ':memory:' });
  });

  it('mysql+pymysql://u:p@h:3307/db?charset=utf8: driver suffix and query ignored', () => {
    assert.deepEqual(parseConnectionUrl('mysql+pymysql://nova:s3cret@db.example:3307/nova?charset=utf8'), {
      dialect: 'mysql',
      host: 'db.example',
      port: 3307,
      user: 'nova',
      password: 's3cret',
      database: 'nova',
    });
  });

  it('mysql:// defaults port 3306, user root, and decodes escapes', () => {
    assert.deepEqual(parseConnectionUrl('mysql://db/stratus'), {
      dialect: 'mysql',
      host: 'db',
      port: 3306,
      user: 'root',
      password: '',
      database: 'stratus',
    });
    assert.deepEqual(parseConnectionUrl('mariadb://us%40er:p%40ss%2Fw@10.0.0.5/my%20db'), {
      dialect: 'mysql',
      host: '10.0.0.5',
      port: 3306,
      user: 'us@er',
      password: 'p@ss/w',
      database: 'my db',
    });
  });

  it('postgresql+psycopg2://... and postgres:// default port 5432 and user postgres', () => {
    assert.deepEqual(parseConnectionUrl('postgresql+psycopg2://nova:pw@pg.example/nova'), {
      dialect: 'postgres',
      host: 'pg.example',
      port: 5432,
      user: 'nova',
      password: 'pw',
      database: 'nova',
    });
    assert.deepEqual(parseConnectionUrl('postgres://127.0.0.1:5433/x'), {
      dialect: 'postgres',
      host: '127.0.0.1',
      port: 5433,
      user: 'postgres',
      password: '',
      database: 'x',
    });
  });

  it('takes an IPv6 literal without its brackets, so the driver can connect to it', () => {
    const target = parseConnectionUrl('postgresql://u:p@[::1]:5432/db');
    assert.ok(target.dialect === 'postgres');
    assert.equal(target.host, '::1');
  });

  it('describes a target without its password', () => {
    assert.equal(describeTarget(parseConnectionUrl('mysql://u:secret@h:3307/db')), 'MariaDB/MySQL u@h:3307/db');
    assert.equal(describeTarget(parseConnectionUrl('postgresql://u:secret@h/db')), 'PostgreSQL u@h:5432/db');
    assert.equal(describeTarget(parseConnectionUrl('sqlite:////x/y.sqlite')), 'SQLite /x/y.sqlite');
  });

  const bad: [string, RegExp][] = [
    ['', /unsupported \[database\] connection ''/],
    ['stratus.sqlite', /unsupported/],
    ['sqlite:relative.sqlite', /unsupported/],
    ['sqlite://host/path.sqlite', /bad \[database\] connection 'sqlite:\/\/host\/path\.sqlite'/],
    ['oracle://u:topsecret@h/db', /unsupported \[database\] connection 'oracle:\/\/u:\*\*\*\*@h\/db'/],
    ['postgresx://u:topsecret@h/db', /unsupported/],
    ['http://u:topsecret@h/db', /unsupported/],
    ['mysql://u:topsecret@h:99999/db', /bad \[database\] connection 'mysql:\/\/u:\*\*\*\*@h:99999\/db'/],
    ['mysql://u:topsecret@h:port/db', /bad \[database\] connection/],
    ['mysql+pymysql://u:topsecret@h:3306', /names no database/],
    ['postgresql://u:topsecret@h/', /names no database/],
  ];
  for (const [url, expected] of bad) {
    it(`refuses ${JSON.stringify(url)} with a ConfigError saying what is expected, password masked`, () => {
      assert.throws(
        () => parseConnectionUrl(url),
        (err: unknown) => {
          assert.ok(err instanceof ConfigError, `got ${String(err)}`);
          assert.match(err.message, expected);
          assert.doesNotMatch(err.message, /topsecret/);
          if (!/names no database/.test(err.message))
            assert.match(
              err.message,
              /expected sqlite:\/\/\/path, mysql\+pymysql:\/\/user:pass@host\/db or postgresql:\/\//,
            );
          return true;
        },
      );
    });
  }
});
