/**
 * Large list bodies, serialized a slice at a time as they are sent.
 *
 * Why: a page of 1000 servers is a 1-2 MB JSON text. Built in one piece, that string (and the buffers
 * JSON.stringify grows on the way) is too big for V8's young generation and goes straight to the
 * large-object space, which is old generation: every few dozen such responses cost a full mark-compact
 * pause, and those pauses were the p99 of GET /servers/detail. Slices of a few dozen items are small
 * strings that die young, and the views of one slice are garbage before the next is built.
 */
import { Readable } from 'node:stream';

/** Items per serialized slice: large enough to keep chunk overhead negligible, small enough to die young. */
const SLICE = 50;

/** Below this many items the body is sent whole: streaming would only add chunked-encoding overhead. */
const STREAM_FROM = 2 * SLICE;

/**
 * The body `{"<key>": [view(item)...], ...rest}`: a plain object for short lists, a stream of JSON text
 * for long ones. The caller sends either with `reply.send`; a stream needs the JSON content type set.
 */
export function listBody<T>(
  key: string,
  items: readonly T[],
  view: (item: T) => unknown,
  rest: Record<string, unknown> = {},
): Record<string, unknown> | Readable {
  if (items.length < STREAM_FROM) return { [key]: items.map(view), ...rest };
  return Readable.from(jsonSlices(key, items, view, rest), { objectMode: false });
}

function* jsonSlices<T>(
  key: string,
  items: readonly T[],
  view: (item: T) => unknown,
  rest: Record<string, unknown>,
): Generator<string> {
  yield `{${JSON.stringify(key)}:[`;
  for (let start = 0; start < items.length; start += SLICE) {
    const slice = JSON.stringify(items.slice(start, start + SLICE).map(view));
    // Drop the slice's own brackets; slices after the first continue the array with a comma.
    yield (start === 0 ? '' : ',') + slice.slice(1, -1);
  }
  let tail = ']';
  for (const [name, value] of Object.entries(rest)) tail += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
  yield `${tail}}`;
}
