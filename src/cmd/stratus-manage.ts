/**
 * `stratus-manage`: the operator's admin tasks (nova-manage and keystone-manage in one):
 *   stratus-manage db sync | db version
 *   stratus-manage bootstrap [--bootstrap-password P]
 *   stratus-manage policy defaults [--api A] | policy effective [--api A]
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { schemaStatus, syncSchema } from '../common/db/migrator.ts';
import { bootstrapCloud } from '../runtime/bootstrap.ts';
import { openConfiguredDatabase } from '../runtime/environment.ts';
import { addConfigFileOption, configFrom } from './config-options.ts';
import { exitWithError } from './fail.ts';
import { configDirs } from '../common/config/load-config.ts';
import { resolvePolicyFile } from '../api/policy/index.ts';
import { PolicyFileError, readPolicyFile } from '../api/policy/policy-file.ts';
import { ConfigError } from '../common/errors.ts';
import { apisOf, policyYaml } from '../api/policy/sample.ts';
import { DEFAULT_RULES, POLICY_APIS } from '../api/policy/registry.ts';

const program = addConfigFileOption(new Command('stratus-manage').description('Stratus administration'));

const db = program.command('db').description('database schema');
db.command('sync')
  .description('apply pending schema migrations (idempotent)')
  .action(async (_opts, cmd: Command) => {
    const config = configFrom(cmd);
    const database = await openConfiguredDatabase(config, { checkSchema: false });
    try {
      const applied = await syncSchema(database, { defaultStorageTier: config.storage.default_tier });
      console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database schema is up to date');
    } finally {
      await database.close();
    }
  });
db.command('version')
  .description('show the schema version of the database')
  .action(async (_opts, cmd: Command) => {
    const database = await openConfiguredDatabase(configFrom(cmd), { checkSchema: false });
    try {
      const status = await schemaStatus(database);
      console.log(
        `applied ${status.applied.length} of ${status.known} migrations${status.pending.length ? `; pending: ${status.pending.join(', ')}` : ''}`,
      );
    } finally {
      await database.close();
    }
  });

program
  .command('bootstrap')
  .description('create the default domain, the admin user, project and role, and write an openrc file')
  .option('--bootstrap-password <password>', 'admin password (default: $OS_BOOTSTRAP_PASSWORD, else generated)')
  .option('--bootstrap-username <name>', 'admin user name', 'admin')
  .option('--bootstrap-project-name <name>', 'admin project name', 'admin')
  .option('--bootstrap-role-name <name>', 'admin role name', 'admin')
  .action(
    async (
      opts: {
        bootstrapPassword?: string;
        bootstrapUsername: string;
        bootstrapProjectName: string;
        bootstrapRoleName: string;
      },
      cmd: Command,
    ) => {
      const config = configFrom(cmd);
      const database = await openConfiguredDatabase(config);
      try {
        const result = await bootstrapCloud(database, config, {
          password: opts.bootstrapPassword ?? process.env['OS_BOOTSTRAP_PASSWORD'],
          adminUser: opts.bootstrapUsername,
          adminProject: opts.bootstrapProjectName,
          adminRole: opts.bootstrapRoleName,
        });
        console.log(
          `admin credentials written to ${result.openrcPath}${result.generated ? ' (password generated)' : ''}`,
        );
        console.log(`use them with: source ${join(result.openrcPath)}`);
      } finally {
        await database.close();
      }
    },
  );

const policy = program.command('policy').description('oslo.policy rules of the APIs');
policy
  .command('defaults')
  .description("print the default rules as a YAML policy file (oslopolicy-sample-generator's output)")
  .option('--api <api>', `only one API: ${POLICY_APIS.join(', ')}`)
  .action((opts: { api?: string }) => {
    process.stdout.write(policyYaml(apisOf(opts.api), (api) => DEFAULT_RULES[api], true));
  });
policy
  .command('effective')
  .description("print the rules in force, the policy file over the defaults (oslopolicy-policy-generator's output)")
  .option('--api <api>', `only one API: ${POLICY_APIS.join(', ')}`)
  .action((opts: { api?: string }, cmd: Command) => {
    const config = configFrom(cmd);
    const file = resolvePolicyFile(config.oslo_policy.policy_file, configDirs(config));
    let overrides: Record<string, string>;
    try {
      overrides = readPolicyFile(file) ?? {};
    } catch (err) {
      if (err instanceof PolicyFileError) throw new ConfigError(err.message);
      throw err;
    }
    process.stdout.write(
      policyYaml(
        apisOf(opts.api),
        (api) => DEFAULT_RULES[api].map(([name, check, doc]) => [name, overrides[name] ?? check, doc] as const),
        false,
      ),
    );
  });

program.parseAsync().catch((err: unknown) => exitWithError('stratus-manage', err));
