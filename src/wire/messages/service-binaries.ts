/** The services that register in the services table, by the binary name Nova gives them. */
export const SERVICE_BINARIES = ['stratus-api', 'stratus-conductor', 'stratus-scheduler', 'stratus-compute'] as const;
export type ServiceBinary = (typeof SERVICE_BINARIES)[number];
