/**
 * Request bodies in JSON, parsed with the limits every API applies before a handler sees them: the text
 * must be valid UTF-8 (a byte that is not would otherwise be stored as U+FFFD, silently changing what the
 * client sent) and nest no deeper than MAX_JSON_DEPTH. Why a depth limit: the schema validator and the
 * validation message builder walk a body recursively, so a body of 100,000 nested arrays exhausted the
 * stack (a 500) once parsed; no OpenStack request body nests more than a handful of levels.
 */

/** How deep objects and arrays may nest in a request body. */
export const MAX_JSON_DEPTH = 64;

/** A body that cannot be taken: a 400 in the API's own error format, with the API's own words. */
export class MalformedBody extends Error {
  readonly statusCode = 400;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The value of a JSON body (undefined for an empty one: legal for actions without arguments). `malformed`
 * is the API's message for text that is no JSON ("Malformed request body" in Nova, Glance's sentence).
 */
export function parseJsonBody(raw: Buffer | string, malformed: string): unknown {
  let text: string;
  if (typeof raw === 'string') {
    text = raw;
  } else {
    try {
      text = utf8.decode(raw);
    } catch {
      throw new MalformedBody(`${sentence(malformed)}: the body is not valid UTF-8.`);
    }
  }
  if (text.trim() === '') return undefined;
  if (nestingDepth(text) > MAX_JSON_DEPTH) {
    throw new MalformedBody(`${sentence(malformed)}: JSON nested deeper than ${MAX_JSON_DEPTH} levels.`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new MalformedBody(malformed);
  }
}

/** The API's message without its full stop, to go on with the reason. */
function sentence(message: string): string {
  return message.replace(/\.$/, '');
}

/** The deepest nesting of brackets outside strings: one pass, no recursion, so any text is safe to scan. */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // a backslash escapes the next character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > deepest) deepest = depth;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return deepest;
}
