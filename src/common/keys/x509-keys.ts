/**
 * x509 key pairs (Nova's `type: x509`, used by Windows guests for WinRM certificate logins): the public
 * part is a PEM certificate, its fingerprint the SHA-1 of its DER. Generation runs `openssl` as Nova
 * does (a self-signed client-auth certificate for CN=<user id> with the user's UPN, and its key in an
 * unprotected PKCS#12, base64), since node:crypto can read certificates but not make them.
 */
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { colonHex, InvalidPublicKey, type GeneratedKeyPair } from './ssh-keys.ts';

const run = promisify(execFile);

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/** The certificate of a PEM text (its first CERTIFICATE block); InvalidPublicKey if there is none. */
export function parseX509Certificate(pem: string): X509Certificate {
  const block = PEM_CERTIFICATE.exec(pem);
  if (!block) throw new InvalidPublicKey('no PEM certificate (-----BEGIN CERTIFICATE-----) was found');
  try {
    return new X509Certificate(block[0]);
  } catch (err) {
    throw new InvalidPublicKey(`the certificate cannot be read (${(err as Error).message})`);
  }
}

/** Nova's x509 fingerprint: SHA-1 of the certificate's DER. */
export function x509Fingerprint(certificate: X509Certificate): string {
  return colonHex(createHash('sha1').update(certificate.raw).digest());
}

export async function generateX509KeyPair(userId: string, bits = 2048): Promise<GeneratedKeyPair> {
  // The id goes into openssl's configuration and the subject: nothing there may be read as syntax.
  if (!/^[\w.@-]+$/.test(userId)) {
    throw new InvalidPublicKey(`user id '${userId}' cannot be put in a certificate (letters, digits, _ . @ - only)`);
  }
  const dir = await mkdtemp(join(tmpdir(), 'stratus-x509-'));
  try {
    const config = join(dir, 'req.conf');
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    const p12File = join(dir, 'key.p12');
    await writeFile(
      config,
      [
        'distinguished_name = req_distinguished_name',
        '[req_distinguished_name]',
        '[v3_req_client]',
        'extendedKeyUsage = clientAuth',
        `subjectAltName = otherName:1.3.6.1.4.1.311.20.2.3;UTF8:${userId}@localhost`,
        '',
      ].join('\n'),
    );
    await run('openssl', [
      'req',
      '-x509',
      '-nodes',
      '-days',
      '3650',
      '-config',
      config,
      '-newkey',
      `rsa:${bits}`,
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-subj',
      `/CN=${userId.replace(/[/\\]/g, '\\$&')}`,
      '-extensions',
      'v3_req_client',
    ]);
    await run('openssl', [
      'pkcs12',
      '-export',
      '-inkey',
      keyFile,
      '-in',
      certFile,
      '-out',
      p12File,
      '-password',
      'pass:',
    ]);
    const certificate = await readFile(certFile, 'utf8');
    return {
      privateKey: (await readFile(p12File)).toString('base64'),
      publicKey: certificate,
      fingerprint: x509Fingerprint(parseX509Certificate(certificate)),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
