/**
 * What hangs off a server (Nova's API reference for server actions, metadata, instance actions, remote
 * consoles and console output). POST /servers/{id}/action answers by action: most with 202 and no body;
 * createImage with 202 and `{image_id}` from 2.45 (a Location header before); os-getConsoleOutput and
 * os-getVNCConsole with 200. One route, so its schemas are the alternatives of each status.
 */
import {
  COLLECTION_LINKS,
  NAIVE_DATE_TIME,
  NO_BODY,
  NULLABLE_NAIVE_DATE_TIME,
  strictObject,
  stringMap,
  UUID,
} from './common.ts';
import type { Json } from './common.ts';
import type { ResponseSchema } from './types.ts';

const CONSOLE_OUTPUT = strictObject({ output: { type: 'string' } });
const VNC_CONSOLE = strictObject({
  console: strictObject({ type: { enum: ['novnc', 'xvpvnc'] }, url: { type: 'string', format: 'uri' } }),
});
const IMAGE_ID = strictObject({ image_id: { type: ['string', 'null'], format: 'uuid' } });

const METADATA = strictObject({ metadata: stringMap() });
const META = strictObject({ meta: { ...stringMap(), minProperties: 1, maxProperties: 1 } });

const NULLABLE_ID: Json = { type: ['string', 'null'] };

function action(version: {
  updatedAt: boolean;
  events: 'no' | 'optional' | 'required';
  hosts: boolean;
  details: boolean;
}): Json {
  const properties: Json = {
    action: { type: 'string' },
    instance_uuid: UUID,
    request_id: { type: 'string' },
    user_id: NULLABLE_ID,
    project_id: NULLABLE_ID,
    start_time: NAIVE_DATE_TIME,
    message: { type: ['string', 'null'] },
  };
  const required = Object.keys(properties);
  if (version.updatedAt) {
    properties['updated_at'] = NULLABLE_NAIVE_DATE_TIME;
    required.push('updated_at');
  }
  if (version.events !== 'no') {
    const event: Json = {
      event: { type: 'string' },
      start_time: NAIVE_DATE_TIME,
      finish_time: NULLABLE_NAIVE_DATE_TIME,
      result: { type: ['string', 'null'] },
      // Admins only.
      traceback: { type: ['string', 'null'] },
    };
    const eventRequired = ['event', 'start_time', 'finish_time', 'result'];
    if (version.hosts) {
      event['hostId'] = { type: 'string' };
      event['host'] = { type: 'string' };
      eventRequired.push('hostId');
    }
    if (version.details) event['details'] = { type: ['string', 'null'] };
    properties['events'] = { type: 'array', items: strictObject(event, eventRequired) };
    if (version.events === 'required') required.push('events');
  }
  return strictObject(properties, required);
}

const listed = (updatedAt: boolean) => action({ updatedAt, events: 'no', hosts: false, details: false });

export const RESPONSE_SCHEMAS: readonly ResponseSchema[] = [
  { method: 'POST', path: '/servers/:id/action', status: 202, maxVersion: '2.44', schema: NO_BODY },
  {
    method: 'POST',
    path: '/servers/:id/action',
    status: 202,
    minVersion: '2.45',
    schema: { anyOf: [NO_BODY, IMAGE_ID] },
  },
  { method: 'POST', path: '/servers/:id/action', status: 200, schema: { anyOf: [CONSOLE_OUTPUT, VNC_CONSOLE] } },

  { method: 'GET', path: '/servers/:id/metadata', status: 200, schema: METADATA },
  { method: 'POST', path: '/servers/:id/metadata', status: 200, schema: METADATA },
  { method: 'PUT', path: '/servers/:id/metadata', status: 200, schema: METADATA },
  { method: 'GET', path: '/servers/:id/metadata/:key', status: 200, schema: META },
  { method: 'PUT', path: '/servers/:id/metadata/:key', status: 200, schema: META },
  { method: 'DELETE', path: '/servers/:id/metadata/:key', status: 204, schema: NO_BODY },

  {
    method: 'GET',
    path: '/servers/:id/os-instance-actions',
    status: 200,
    maxVersion: '2.57',
    schema: strictObject({ instanceActions: { type: 'array', items: listed(false) } }),
  },
  {
    method: 'GET',
    path: '/servers/:id/os-instance-actions',
    status: 200,
    minVersion: '2.58',
    schema: strictObject({ instanceActions: { type: 'array', items: listed(true) }, links: COLLECTION_LINKS }, [
      'instanceActions',
    ]),
  },
  ...(
    [
      ['2.1', '2.50', { updatedAt: false, events: 'optional', hosts: false, details: false }],
      ['2.51', '2.57', { updatedAt: false, events: 'required', hosts: false, details: false }],
      ['2.58', '2.61', { updatedAt: true, events: 'required', hosts: false, details: false }],
      ['2.62', '2.83', { updatedAt: true, events: 'required', hosts: true, details: false }],
      ['2.84', undefined, { updatedAt: true, events: 'required', hosts: true, details: true }],
    ] as const
  ).map(([minVersion, maxVersion, version]): ResponseSchema => ({
    method: 'GET',
    path: '/servers/:id/os-instance-actions/:requestId',
    status: 200,
    minVersion,
    ...(maxVersion ? { maxVersion } : {}),
    schema: strictObject({ instanceAction: action(version) }),
  })),

  {
    method: 'POST',
    path: '/servers/:id/remote-consoles',
    status: 200,
    minVersion: '2.6',
    schema: strictObject({
      remote_console: strictObject({
        protocol: { enum: ['vnc', 'spice', 'serial', 'rdp', 'mks'] },
        type: { enum: ['novnc', 'xvpvnc', 'spice-html5', 'serial', 'rdp-html5', 'webmks'] },
        url: { type: 'string', format: 'uri' },
      }),
    }),
  },
];
