/**
 * Key material as Nova checks and makes it: fingerprints against vectors ssh-keygen and openssl printed,
 * the keys Nova refuses (with the reason), generated ssh keys that ssh-keygen reads, x509 generation.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BadRequest } from '../../../src/common/errors.ts';
import { generateKeyPairMaterial, keyFingerprint } from '../../../src/common/keys/key-pair-material.ts';
import { SshWireWriter } from '../../../src/common/keys/ssh-wire.ts';
import { SSH_KEY_VECTORS, X509_VECTOR } from '../../helpers/key-vectors.ts';

const run = promisify(execFile);

function hasCommand(name: string): boolean {
  try {
    execFileSync('which', [name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function refused(type: 'ssh' | 'x509', publicKey: string, reason: RegExp): void {
  assert.throws(
    () => keyFingerprint(type, publicKey),
    (err: Error) =>
      err instanceof BadRequest &&
      /^Keypair data is invalid: failed to generate/.test(err.message) &&
      reason.test(err.message),
  );
}

const line = (blob: Buffer, type = 'ssh-rsa') => `${type} ${blob.toString('base64')} comment`;

describe('key pair material', () => {
  it('computes the MD5 fingerprint ssh-keygen shows, for every supported key type', () => {
    for (const [name, vector] of Object.entries(SSH_KEY_VECTORS)) {
      assert.equal(keyFingerprint('ssh', vector.publicKey), vector.fingerprint, name);
    }
    // No comment, a tab, a trailing newline: the same key.
    const [type, data] = SSH_KEY_VECTORS.ed25519.publicKey.split(' ');
    for (const variant of [`${type} ${data}`, `${type}\t${data}`, `${type} ${data} c\n`]) {
      assert.equal(keyFingerprint('ssh', variant), SSH_KEY_VECTORS.ed25519.fingerprint);
    }
  });

  it('computes the SHA-1 fingerprint of an x509 certificate', () => {
    assert.equal(keyFingerprint('x509', X509_VECTOR.certificate), X509_VECTOR.fingerprint);
    refused('x509', SSH_KEY_VECTORS.rsa.publicKey, /no PEM certificate/);
    const broken = X509_VECTOR.certificate.replace('MIIBhDCC', 'MIIBhDCD');
    refused('x509', broken, /certificate cannot be read/);
    // An ssh pair is no x509 certificate either way round.
    refused('ssh', X509_VECTOR.certificate, /not base64/);
  });

  it('refuses what is no valid ssh public key, saying why', () => {
    const [, rsaData] = SSH_KEY_VECTORS.rsa.publicKey.split(' ') as [string, string];
    refused('ssh', 'garbage', /not of the form/);
    refused('ssh', ` ${SSH_KEY_VECTORS.rsa.publicKey}`, /not of the form/);
    refused('ssh', 'ssh-rsa not*base64', /not base64/);
    refused('ssh', `ssh-ed25519 ${rsaData}`, /of type ssh-rsa, not ssh-ed25519/);
    refused('ssh', `ssh-rsa ${rsaData.slice(0, 100)}`, /ends in the middle of a field/);
    const full = Buffer.from(rsaData, 'base64');
    refused('ssh', line(Buffer.concat([full, Buffer.of(0)])), /bytes after the key/);
    refused(
      'ssh',
      line(new SshWireWriter().string('ssh-foo').string('x').toBuffer(), 'ssh-foo'),
      /ssh-foo is not supported/,
    );
    // RSA numbers pyca/cryptography refuses: an even exponent, an exponent of 1, a negative modulus.
    const rsa = (e: Buffer, n: Buffer) => line(new SshWireWriter().string('ssh-rsa').string(e).string(n).toBuffer());
    const modulus = Buffer.concat([Buffer.of(0), Buffer.alloc(256, 0xc5)]);
    refused('ssh', rsa(Buffer.of(0x01, 0x00, 0x00), modulus), /exponent is even/);
    refused('ssh', rsa(Buffer.of(0x01), modulus), /exponent is out of range/);
    refused('ssh', rsa(Buffer.of(0x03), Buffer.alloc(256, 0xc5)), /negative integer/);
    // An ed25519 key of the wrong size; an EC point that is compressed, one off the curve.
    const ed = (key: Buffer) => line(new SshWireWriter().string('ssh-ed25519').string(key).toBuffer(), 'ssh-ed25519');
    refused('ssh', ed(Buffer.alloc(31, 1)), /must be 32 bytes/);
    const ec = (curve: string, point: Buffer) =>
      line(
        new SshWireWriter().string(`ecdsa-sha2-${curve}`).string(curve).string(point).toBuffer(),
        `ecdsa-sha2-${curve}`,
      );
    refused('ssh', ec('nistp256', Buffer.concat([Buffer.of(2), Buffer.alloc(32, 7)])), /not an uncompressed point/);
    refused('ssh', ec('nistp256', Buffer.concat([Buffer.of(4), Buffer.alloc(64, 7)])), /key is not valid/);
    const wrongCurve = line(
      new SshWireWriter().string('ecdsa-sha2-nistp256').string('nistp384').string(Buffer.alloc(65)).toBuffer(),
      'ecdsa-sha2-nistp256',
    );
    refused('ssh', wrongCurve, /curve of the ecdsa-sha2-nistp256 key is not nistp256/);
  });

  it('refuses DSA parameters of sizes pyca/cryptography does not take', () => {
    // The vector's own fields, with q cut short.
    const [, data] = SSH_KEY_VECTORS.dsa.publicKey.split(' ') as [string, string];
    const blob = Buffer.from(data, 'base64');
    const fields: Buffer[] = [];
    for (let offset = 0; offset < blob.length;) {
      const length = blob.readUInt32BE(offset);
      fields.push(blob.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    const [type, p, q, g, y] = fields as [Buffer, Buffer, Buffer, Buffer, Buffer];
    const rebuilt = (qValue: Buffer) =>
      line(new SshWireWriter().string(type).string(p).string(qValue).string(g).string(y).toBuffer(), 'ssh-dss');
    assert.equal(keyFingerprint('ssh', rebuilt(q)), SSH_KEY_VECTORS.dsa.fingerprint);
    refused('ssh', rebuilt(q.subarray(0, 16)), /subprime q has an unsupported size/);
  });

  it(
    'generates an RSA pair whose private key ssh-keygen reads back into its public key',
    { skip: !hasCommand('ssh-keygen') },
    async () => {
      const pair = await generateKeyPairMaterial('ssh', 'alice');
      assert.match(pair.publicKey, /^ssh-rsa AAAAB3NzaC1yc2E[A-Za-z0-9+/=]+ Generated-by-Nova$/);
      assert.match(pair.privateKey, /^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+-----END RSA PRIVATE KEY-----\n$/);
      assert.equal(pair.fingerprint, keyFingerprint('ssh', pair.publicKey));
      const dir = mkdtempSync(join(tmpdir(), 'stratus-keys-'));
      try {
        const file = join(dir, 'id_rsa');
        writeFileSync(file, pair.privateKey, { mode: 0o600 });
        const { stdout } = await run('ssh-keygen', ['-y', '-f', file]);
        assert.equal(stdout.trim().split(' ').slice(0, 2).join(' '), pair.publicKey.split(' ').slice(0, 2).join(' '));
        writeFileSync(`${file}.pub`, `${pair.publicKey}\n`);
        const listed = await run('ssh-keygen', ['-l', '-E', 'md5', '-f', `${file}.pub`]);
        assert.match(listed.stdout, new RegExp(`^2048 MD5:${pair.fingerprint} `));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it(
    'generates an x509 pair: a PEM certificate for the user and its key as PKCS#12',
    { skip: !hasCommand('openssl') },
    async () => {
      const pair = await generateKeyPairMaterial('x509', 'f00d');
      assert.match(pair.publicKey, /^-----BEGIN CERTIFICATE-----\n/);
      assert.equal(pair.fingerprint, keyFingerprint('x509', pair.publicKey));
      const dir = mkdtempSync(join(tmpdir(), 'stratus-keys-'));
      try {
        writeFileSync(join(dir, 'cert.pem'), pair.publicKey);
        const subject = await run('openssl', [
          'x509',
          '-in',
          join(dir, 'cert.pem'),
          '-noout',
          '-subject',
          '-ext',
          'subjectAltName,extendedKeyUsage',
        ]);
        assert.match(subject.stdout, /CN ?= ?f00d/);
        assert.match(subject.stdout, /TLS Web Client Authentication/);
        writeFileSync(join(dir, 'key.p12'), Buffer.from(pair.privateKey, 'base64'));
        const p12 = await run('openssl', ['pkcs12', '-in', join(dir, 'key.p12'), '-password', 'pass:', '-nodes']);
        assert.match(p12.stdout, /BEGIN PRIVATE KEY/);
        await assert.rejects(generateKeyPairMaterial('x509', 'x\n[evil]'), (err: Error) => {
          return err instanceof BadRequest && /cannot be put in a certificate/.test(err.message);
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
