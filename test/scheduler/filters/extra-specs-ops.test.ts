/** The extra-spec requirement syntax shared by the aggregate and capabilities filters (Nova's extra_specs_ops). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesRequirement } from '../../../src/scheduler/filters/extra-specs-ops.ts';

const cases: [value: string | null, requirement: string, expected: boolean][] = [
  // A plain requirement is an exact string match.
  ['true', 'true', true],
  ['True', 'true', false],
  ['ssd', 'ssd ', false],
  [null, 'true', false],
  // `=` is Nova's "at least"; the other numeric operators compare as numbers.
  ['16', '= 8', true],
  ['8', '= 8', true],
  ['4', '= 8', false],
  ['8.0', '== 8', true],
  ['8', '!= 8', false],
  ['9', '>= 8.5', true],
  ['8', '<= 7', false],
  ['abc', '>= 1', false],
  ['', '== 0', false],
  // String operators compare as strings.
  ['abc', 's== abc', true],
  ['abc', 's!= abc', false],
  ['10', 's< 9', true],
  ['b', 's> a', true],
  ['a', 's>= a', true],
  ['a', 's<= b', true],
  // <in> is a substring test, <all-in> needs every word, <or> one of the choices.
  ['fast-ssd', '<in> ssd', true],
  ['hdd', '<in> ssd', false],
  ['avx avx2 sse', '<all-in> avx2 sse', true],
  ['avx sse', '<all-in> avx2 sse', false],
  ['b', '<or> a <or> b <or> c', true],
  ['d', '<or> a <or> b <or> c', false],
  ['<or>', '<or> a <or> b', false],
  [null, '<in> x', false],
  ['x', '<in>', false],
];

describe('extra spec requirements', () => {
  for (const [value, requirement, expected] of cases) {
    it(`${JSON.stringify(value)} against '${requirement}' is ${expected}`, () => {
      assert.equal(matchesRequirement(value, requirement), expected);
    });
  }
});

describe('extra spec requirements that name built-ins', () => {
  it('takes `constructor 1` and `__proto__ 1` as plain values, not operators', () => {
    assert.equal(matchesRequirement('2', 'constructor 1'), false);
    assert.equal(matchesRequirement('2', '__proto__ 1'), false);
    assert.equal(matchesRequirement('constructor 1', 'constructor 1'), true);
  });
});
