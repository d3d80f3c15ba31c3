/**
 * A fake token validator for API tests that do not run the identity service: three fixed tokens stand
 * for an admin and members of two projects.
 */
import type { TokenValidator, ValidatedToken } from '../../src/api/auth/token-validator.ts';
import { Unauthorized } from '../../src/common/errors.ts';

export const PROJECT_A = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
export const PROJECT_B = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
export const PROJECT_ADMIN = 'adadadadadadadadadadadadadadadad';
export const TOKENS = { admin: 'admin-token', alice: 'alice-token', bob: 'bob-token' } as const;

function token(userId: string, projectId: string, roles: string[]): ValidatedToken {
  return {
    userId,
    userName: userId,
    userDomainId: 'default',
    projectId,
    projectName: projectId,
    projectDomainId: 'default',
    roles: roles.map((name) => ({ id: `role-${name}`, name })),
    expiresAt: '2099-01-01T00:00:00.000Z',
    issuedAt: '2026-01-01T00:00:00.000Z',
    auditId: `audit-${userId}`,
    methods: ['password'],
  };
}

export const fakeTokens: TokenValidator = {
  async validate(value: string): Promise<ValidatedToken> {
    switch (value) {
      case TOKENS.admin:
        return token('admin-user', PROJECT_ADMIN, ['admin', 'member', 'reader']);
      case TOKENS.alice:
        return token('alice', PROJECT_A, ['member', 'reader']);
      case TOKENS.bob:
        return token('bob', PROJECT_B, ['member', 'reader']);
      default:
        throw new Unauthorized('The request you have made requires authentication.');
    }
  },
};
