/** One rule a service registers: its name, the default check, and the operations it guards. */
export type RuleDefault = readonly [name: string, check: string, operations: string];
