/** The nova.conf INI reader: what oslo.config accepts and generic INI parsers get wrong. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IniSyntaxError, parseIni } from '../../../src/common/config/ini-parser.ts';

const entries = (text: string) => parseIni(text, 'nova.conf').map(({ section, key, value }) => [section, key, value]);

describe('parseIni', () => {
  it('reads sections and options with their line numbers, with = or : and spaces around them', () => {
    const parsed = parseIni(
      '[DEFAULT]\nhost = node1\n\n[database]\nconnection:sqlite://\n[api]  \nauth_strategy=noauth2\n',
      'a.conf',
    );
    assert.deepEqual(parsed, [
      { section: 'DEFAULT', key: 'host', value: 'node1', line: 2 },
      { section: 'database', key: 'connection', value: 'sqlite://', line: 5 },
      { section: 'api', key: 'auth_strategy', value: 'noauth2', line: 7 },
    ]);
  });

  it('keeps every occurrence of a repeated key, in order', () => {
    assert.deepEqual(entries('[DEFAULT]\nhost = a\nhost = b\n[DEFAULT]\nhost = c\n'), [
      ['DEFAULT', 'host', 'a'],
      ['DEFAULT', 'host', 'b'],
      ['DEFAULT', 'host', 'c'],
    ]);
  });

  it('keeps ; and # inside a value (a URL may contain them)', () => {
    assert.deepEqual(entries('[DEFAULT]\ntransport_url = rabbit://u:p;w#d@h:5672/v;x # not a comment\n'), [
      ['DEFAULT', 'transport_url', 'rabbit://u:p;w#d@h:5672/v;x # not a comment'],
    ]);
  });

  it('treats ; and # only at the start of a line (after blanks) as comments', () => {
    const text = '# top\n; also\n[DEFAULT]\n#host = commented\n   ; indented comment\nhost = real\n\t# tab comment\n';
    assert.deepEqual(entries(text), [['DEFAULT', 'host', 'real']]);
  });

  it('joins an indented continuation line to the value above it (even one that looks like a header)', () => {
    const text = '[DEFAULT]\nhost = first\n   second\n\tthird\n  [not_a_section]\nstate_path = /x\n';
    assert.deepEqual(entries(text), [
      ['DEFAULT', 'host', 'first\nsecond\nthird\n[not_a_section]'],
      ['DEFAULT', 'state_path', '/x'],
    ]);
  });

  it('strips matching quotes, allows empty values and CRLF line ends', () => {
    assert.deepEqual(entries('[DEFAULT]\r\na = "quoted value"\r\nb = \'single\'\r\nc =\r\nd = "unbalanced\r\n'), [
      ['DEFAULT', 'a', 'quoted value'],
      ['DEFAULT', 'b', 'single'],
      ['DEFAULT', 'c', ''],
      ['DEFAULT', 'd', '"unbalanced'],
    ]);
  });

  it('refuses an option before any section, naming file and line', () => {
    assert.throws(
      () => parseIni('\n# c\nhost = x\n', '/etc/stratus/stratus.conf'),
      (err: unknown) => {
        assert.ok(err instanceof IniSyntaxError);
        assert.equal(err.line, 3);
        assert.match(
          err.message,
          /^\/etc\/stratus\/stratus\.conf:3: option 'host' comes before any \[section\] header/,
        );
        return true;
      },
    );
  });

  it('refuses a line that is neither an option nor a section, naming file and line', () => {
    for (const bad of ['[DEFAULT]\nhost = a\njust words', '[DEFAULT]\n[broken\n', '[DEFAULT]\n= value\n']) {
      assert.throws(
        () => parseIni(bad, 'x.conf'),
        (err: unknown) =>
          err instanceof IniSyntaxError &&
          /^x\.conf:[23]: cannot read .*expected 'option = value' or '\[section\]'/.test(err.message),
        bad,
      );
    }
  });
});
