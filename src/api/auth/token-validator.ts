/** What the compute and image APIs need from the identity service: turning a token into who holds it. */

export interface ValidatedToken {
  readonly userId: string;
  readonly userName: string;
  readonly userDomainId: string;
  /** null for an unscoped or domain-scoped token. */
  readonly projectId: string | null;
  readonly projectName: string | null;
  readonly projectDomainId: string | null;
  readonly roles: readonly { id: string; name: string }[];
  readonly expiresAt: string;
  readonly issuedAt: string;
  readonly auditId: string;
  readonly methods: readonly string[];
}

export interface TokenValidator {
  /** Resolves the token, or throws Unauthorized (unknown, expired or revoked token). */
  validate(token: string): Promise<ValidatedToken>;
}
