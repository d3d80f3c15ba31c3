/** The response bodies tests read, typed as far as the tests look into them. */

export interface Ref {
  id: string;
  name?: string;
  domain?: Ref;
}

export interface CatalogJson {
  id: string;
  type: string;
  name: string;
  endpoints: { id: string; interface: string; region: string; region_id: string; url: string }[];
}

export interface TokenJson {
  methods: string[];
  user: Ref & { password_expires_at: null };
  audit_ids: string[];
  expires_at: string;
  issued_at: string;
  project?: Ref;
  domain?: Ref;
  roles?: { id: string; name: string }[];
  catalog?: CatalogJson[];
  is_domain?: boolean;
}

export interface ResourceJson {
  id: string;
  name: string;
  domain_id?: string | null;
  description?: string | null;
  enabled?: boolean;
  parent_id?: string;
  email?: string;
  default_project_id?: string;
  links: { self: string };
  [extra: string]: unknown;
}

export interface AssignmentJson {
  role: Ref;
  user: Ref;
  scope: { project?: Ref; domain?: Ref };
  links: { assignment: string; prior_role?: string };
}

/** A region, service or endpoint: Keystone's attributes plus whatever extra ones a client stored. */
export interface CatalogItemJson {
  id: string;
  links: { self: string };
  [attribute: string]: unknown;
}

export interface ErrorJson {
  error: { code: number; title: string; message: string };
}

/** Every field a test may read, all optional: one type for any identity response. */
export interface Body extends Partial<ErrorJson> {
  token?: TokenJson;
  catalog?: CatalogJson[];
  project?: ResourceJson;
  projects?: ResourceJson[];
  user?: ResourceJson;
  users?: ResourceJson[];
  role?: ResourceJson;
  roles?: ResourceJson[];
  domain?: ResourceJson;
  domains?: ResourceJson[];
  role_assignments?: AssignmentJson[];
  region?: CatalogItemJson;
  regions?: CatalogItemJson[];
  service?: CatalogItemJson;
  services?: CatalogItemJson[];
  endpoint?: CatalogItemJson;
  endpoints?: CatalogItemJson[];
  links?: { self: string; previous: null; next: null };
  version?: { id: string; status: string; links: { rel: string; href: string }[]; 'media-types': unknown[] };
  versions?: { values: { id: string; status: string; links: { rel: string; href: string }[] }[] };
}
