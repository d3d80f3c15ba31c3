/** The implied roles of bootstrap: transitive, and a role named after an Object member implies nothing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { impliedRoleNames } from '../../../../src/api/identity/store/roles.ts';

describe('impliedRoleNames', () => {
  it('follows admin -> member -> reader', () => {
    assert.deepEqual(impliedRoleNames(['admin']), ['member', 'reader']);
  });

  it('finds nothing implied by roles named constructor or toString', () => {
    assert.deepEqual(impliedRoleNames(['constructor', 'toString', '__proto__']), []);
  });
});
