/**
 * What the compute host tells its metadata proxy process (metadata-proxy.ts), over the proxy's control
 * socket: where the metadata service is, the shared secret, and for each network of this host the guests
 * whose ports the host itself plugged. Both sides validate it: the process boundary is a trust boundary
 * like any other (a malformed table must not leave a proxy answering for the wrong guests).
 */
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';

export const ProxyGuestSchema = Type.Object(
  {
    /** A fixed IPv4 address of the guest's port on this network (anti-spoofing makes it the guest's own). */
    ip: Type.String({ minLength: 7, maxLength: 15 }),
    instance_uuid: Type.String({ minLength: 1 }),
    project_id: Type.String({ minLength: 1 }),
  },
  { additionalProperties: false },
);

export const ProxyNetworkSchema = Type.Object(
  {
    id: Type.String({ minLength: 1 }),
    /**
     * The host's address on the network's bridge that the datapath redirects 169.254.169.254 to: a
     * connection arriving at any other address was not redirected from this network and is refused.
     */
    address: Type.String({ minLength: 7, maxLength: 15 }),
    guests: Type.Array(ProxyGuestSchema),
  },
  { additionalProperties: false },
);

export const ProxyTableSchema = Type.Object(
  {
    /** Base URL of the metadata service: `<nova_metadata_protocol>://<host>:<port>`. */
    upstream: Type.String({ pattern: '^https?://' }),
    /**
     * A unix socket that reaches the upstream's host and port (a relay in the host's own namespace, for a
     * datapath inside a namespace that has no route to the service); null: connect directly.
     */
    upstream_socket: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    /** `[neutron] metadata_proxy_shared_secret`: the key of X-Instance-ID-Signature. */
    secret: Type.String(),
    networks: Type.Array(ProxyNetworkSchema),
  },
  { additionalProperties: false },
);

/** The proxy's answer: the TCP port it listens on for each network (the datapath redirects there). */
export const ProxyPortsSchema = Type.Object(
  { ports: Type.Record(Type.String(), Type.Integer({ minimum: 1, maximum: 65535 })) },
  { additionalProperties: false },
);

export type ProxyGuest = Static<typeof ProxyGuestSchema>;
export type ProxyNetwork = Static<typeof ProxyNetworkSchema>;
export type ProxyTable = Static<typeof ProxyTableSchema>;
export type ProxyPorts = Static<typeof ProxyPortsSchema>;

export const checkProxyTable = Compile(ProxyTableSchema);
export const checkProxyPorts = Compile(ProxyPortsSchema);
