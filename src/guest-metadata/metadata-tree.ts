/**
 * The whole metadata tree of a guest as path -> content, the way Nova's metadata service answers each
 * path: `ec2/<version>/...` (also served without the `ec2/` prefix), `openstack/<version>/...`, and a
 * listing at every directory (EC2 lists a subdirectory as `name/`, a key pair as `0=<name>`). The HTTP
 * service serves it; a config drive writes configDriveFiles() (config-drive-files.ts) from the same
 * documents.
 */
import { randomBytes } from 'node:crypto';
import type { InstanceMetadata } from '../wire/messages/instance-metadata.ts';
import {
  ec2MetaData,
  metaDataJson,
  networkDataJson,
  userData,
  vendorData2Json,
  vendorDataJson,
  type Ec2Node,
} from './documents.ts';
import {
  atLeast,
  EC2_VERSIONS,
  GRIZZLY,
  HAVANA,
  LIBERTY,
  NEWTON_TWO,
  OPENSTACK_VERSIONS,
  type OpenstackVersion,
} from './versions.ts';

export type ContentType = 'text/plain' | 'application/json';

export interface MetadataFile {
  readonly body: Buffer;
  readonly contentType: ContentType;
}

/** Paths without a leading or trailing slash; '' is the root. */
export type MetadataTree = ReadonlyMap<string, MetadataFile>;

export interface TreeOptions {
  /** Where the request came from: EC2's local-ipv4 for a guest without a fixed IPv4 address. */
  address?: string | null;
  /** Versions dated after it are left out of `openstack/`'s listing (still served when asked for). */
  now?: Date;
  /** The source of meta_data.json's random_seed (512 bytes per document). */
  random?: (size: number) => Buffer;
}

const text = (body: string | Buffer): MetadataFile => ({ body: Buffer.from(body), contentType: 'text/plain' });
const json = (body: string): MetadataFile => ({ body: Buffer.from(body), contentType: 'application/json' });

/** Each version's documents, then `latest` as the newest's. */
export function buildMetadataTree(input: InstanceMetadata, options: TreeOptions = {}): MetadataTree {
  const tree = new Map<string, MetadataFile>();
  const ec2Listing = text([...EC2_VERSIONS, 'latest'].join('\n'));
  tree.set('', ec2Listing);
  tree.set('ec2', ec2Listing);
  const ud = userData(input);
  for (const version of [...EC2_VERSIONS, 'latest'] as const) {
    const resolved = version === 'latest' ? EC2_VERSIONS[EC2_VERSIONS.length - 1]! : version;
    const top: Record<string, Ec2Node> = { 'meta-data': ec2MetaData(input, resolved, options.address ?? null) };
    if (ud) top['user-data'] = ''; // listed here; its body is the raw bytes, set below
    addEc2Node(tree, `ec2/${version}`, top);
    if (ud) tree.set(`ec2/${version}/user-data`, text(ud));
  }
  const today = (options.now ?? new Date()).toISOString().slice(0, 10);
  tree.set('openstack', text([...OPENSTACK_VERSIONS.filter((v) => v <= today), 'latest'].join('\n')));
  const random = options.random ?? randomBytes;
  const vendorData = vendorDataJson(input);
  const vendorData2 = vendorData2Json(input);
  const network = networkDataJson(input);
  for (const version of [...OPENSTACK_VERSIONS, 'latest'] as const) {
    const resolved: OpenstackVersion =
      version === 'latest' ? OPENSTACK_VERSIONS[OPENSTACK_VERSIONS.length - 1]! : version;
    const since = (required: OpenstackVersion) => atLeast(resolved, required, OPENSTACK_VERSIONS);
    const dir = `openstack/${version}`;
    const listing = ['meta_data.json'];
    tree.set(`${dir}/meta_data.json`, json(metaDataJson(input, resolved, random(512).toString('base64'))));
    if (ud) {
      listing.push('user_data');
      tree.set(`${dir}/user_data`, text(ud));
    }
    if (since(GRIZZLY)) {
      listing.push('password');
      tree.set(`${dir}/password`, text(input.password));
    }
    if (since(HAVANA)) {
      listing.push('vendor_data.json');
      if (vendorData !== null) tree.set(`${dir}/vendor_data.json`, json(vendorData));
    }
    if (since(LIBERTY)) {
      listing.push('network_data.json');
      // Nova leaves this document's type at text/plain.
      tree.set(`${dir}/network_data.json`, text(network));
    }
    if (since(NEWTON_TWO)) {
      listing.push('vendor_data2.json');
      tree.set(`${dir}/vendor_data2.json`, json(vendorData2));
    }
    tree.set(dir, text(listing.join('\n')));
  }
  return tree;
}

function addEc2Node(tree: Map<string, MetadataFile>, path: string, node: Ec2Node): void {
  tree.set(path, text(printEc2(node)));
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return;
  for (const [key, child] of Object.entries(node as Record<string, Ec2Node>)) {
    if (key !== '_name') addEc2Node(tree, `${path}/${key}`, child);
  }
}

/** Nova's ec2_md_print: a directory lists its sorted keys, a list its items one a line, a leaf as Python prints it. */
function printEc2(node: Ec2Node): string {
  if (node === null) return 'None';
  if (typeof node === 'string') return node;
  if (typeof node === 'number') return String(node);
  if (Array.isArray(node)) return (node as readonly string[]).join('\n');
  const dict = node as Record<string, Ec2Node>;
  return Object.keys(dict)
    .filter((k) => k !== '_name')
    .sort()
    .map((k) => {
      const child = dict[k];
      if (child === null || typeof child !== 'object' || Array.isArray(child)) return k;
      const name = (child as Record<string, Ec2Node>)['_name'];
      return typeof name === 'string' ? name : `${k}/`;
    })
    .join('\n');
}

/**
 * The tree path a request path names, as Nova resolves it: normalised (`.`, `..`, repeated and trailing
 * slashes), and anything outside `ec2/` and `openstack/` taken as EC2's.
 */
export function treePath(requestPath: string): string {
  const tokens: string[] = [];
  for (const token of requestPath.split('/')) {
    if (token === '' || token === '.') continue;
    if (token === '..') tokens.pop();
    else tokens.push(token);
  }
  if (!tokens.length) return '';
  if (tokens[0] !== 'ec2' && tokens[0] !== 'openstack') tokens.unshift('ec2');
  return tokens.join('/');
}

/** Whether `path` (a tree path) is a version's password, which the guest may also POST. */
export function isPasswordPath(path: string): boolean {
  const tokens = path.split('/');
  return tokens.length === 3 && tokens[0] === 'openstack' && tokens[2] === 'password';
}
