/** The `openrc` file that points the `openstack` CLI at this cloud as its admin. */
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface OpenrcFields {
  authUrl: string;
  username: string;
  password: string;
  projectName: string;
  region: string;
}

/** Single-quoted for the shell: nothing inside is expanded, and a quote is closed, escaped and reopened. */
function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function openrcText(fields: OpenrcFields): string {
  const vars: [string, string][] = [
    ['OS_AUTH_URL', fields.authUrl],
    ['OS_USERNAME', fields.username],
    ['OS_PASSWORD', fields.password],
    ['OS_PROJECT_NAME', fields.projectName],
    ['OS_USER_DOMAIN_NAME', 'Default'],
    ['OS_PROJECT_DOMAIN_NAME', 'Default'],
    ['OS_IDENTITY_API_VERSION', '3'],
    ['OS_REGION_NAME', fields.region],
    ['OS_INTERFACE', 'public'],
  ];
  return [
    '# Stratus admin credentials: source this file, then run openstack commands.',
    ...vars.map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    '',
  ].join('\n');
}

/**
 * Writes the file with mode 0600 (it holds a password): into a new temporary file created with that mode,
 * then renamed over the target, so no reader ever sees it with looser permissions or half written.
 */
export async function writeOpenrc(path: string, fields: OpenrcFields): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(temp, openrcText(fields), { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}
