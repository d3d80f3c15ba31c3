/** JsonFilter and its query language: operators, $variables, and the checks the API relies on. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonFilter } from '../../../src/scheduler/filters/json-filter.ts';
import { parseJsonQuery } from '../../../src/scheduler/filters/json-query.ts';
import { filterRequest, hostState, requestSpec } from '../../helpers/scheduler-fixtures.ts';

// free_ram_mb is physical: total - reserved - used.
const small = hostState('small', {
  usages: { MEMORY_MB: 12288, VCPU: 4 },
  stats: { failed_builds: '0', rack: 'r1' },
});
const big = hostState('big', { hypervisorType: 'qemu', stats: { failed_builds: '0', rack: 'r2' } });

function passing(query: unknown): string[] {
  const spec = requestSpec({ scheduler_hints: { query: JSON.stringify(query) } });
  return [small, big].filter((h) => JsonFilter.passes(h, filterRequest(spec))).map((h) => h.host);
}

describe('JsonFilter', () => {
  it('passes every host without a query hint, or with an empty one', () => {
    assert.deepEqual(passing([]), ['small', 'big']);
    const none = requestSpec();
    assert.equal(JsonFilter.passes(small, filterRequest(none)), true);
  });

  it('compares $variables with =, <, >, <=, >= and in', () => {
    assert.deepEqual(passing(['>=', '$free_ram_mb', 4096]), ['big']);
    assert.deepEqual(passing(['<', '$free_ram_mb', 4096]), ['small']);
    assert.deepEqual(passing(['<=', '$free_ram_mb', 3584]), ['small']);
    assert.deepEqual(passing(['>', '$vcpus_used', 0]), ['small']);
    assert.deepEqual(passing(['=', '$hypervisor_type', 'qemu']), ['big']);
    assert.deepEqual(passing(['in', '$hypervisor_type', 'kvm', 'qemu']), ['big']);
    assert.deepEqual(passing(['=', '$host', 'small']), ['small']);
  });

  it('reaches into dictionaries and stats with a dotted path', () => {
    assert.deepEqual(passing(['=', '$cpu_info.arch', 'x86_64']), ['small', 'big']);
    assert.deepEqual(passing(['=', '$cpu_info.topology.cores', 16]), ['small', 'big']);
    assert.deepEqual(passing(['=', '$stats.rack', 'r2']), ['big']);
  });

  it('combines with and, or, not', () => {
    assert.deepEqual(passing(['and', ['>=', '$free_ram_mb', 1024], ['=', '$hypervisor_type', 'fake']]), ['small']);
    assert.deepEqual(passing(['or', ['=', '$host', 'small'], ['=', '$host', 'big']]), ['small', 'big']);
    assert.deepEqual(passing(['not', ['=', '$host', 'small']]), ['big']);
    // As in Nova, `not` yields a list, which and/or count as true when it is not empty.
    assert.deepEqual(passing(['and', ['not', ['=', '$host', 'big']], ['>', '$vcpus_total', 8]]), ['small', 'big']);
  });

  it('drops arguments that resolve to nothing, so a comparison with one argument left fails', () => {
    assert.deepEqual(passing(['=', '$no_such_attribute', 'x']), []);
    assert.deepEqual(passing(['>=', '$free_ram_mb']), []);
    // Python cannot order a number against a string: such a comparison fails rather than guesses.
    assert.deepEqual(passing(['>', '$free_ram_mb', 'many']), []);
  });

  it('lets no host pass for a query that does not parse (one recorded before the API checked it)', () => {
    const spec = requestSpec({ scheduler_hints: { query: '[">=", "$free_ram_mb"' } });
    assert.equal(JsonFilter.passes(big, filterRequest(spec)), false);
  });
});

describe('parseJsonQuery', () => {
  it('accepts a list led by an operator, nested likewise', () => {
    assert.deepEqual(parseJsonQuery('["and", [">=", "$free_ram_mb", 1], ["not", ["=", "$host", "a"]]]'), [
      'and',
      ['>=', '$free_ram_mb', 1],
      ['not', ['=', '$host', 'a']],
    ]);
    assert.equal(parseJsonQuery('[]'), null);
  });

  it('says what is wrong with anything else', () => {
    assert.throws(() => parseJsonQuery('not json'), /not valid JSON/);
    assert.throws(
      () => parseJsonQuery('{"op": "="}'),
      /must be a JSON list starting with one of = < > <= >= in not or and/,
    );
    assert.throws(() => parseJsonQuery('["~", 1, 2]'), /must be a JSON list/);
    assert.throws(() => parseJsonQuery('["and", ["like", "$host", "a"]]'), /got \["like","\$host","a"\]/);
  });
});
