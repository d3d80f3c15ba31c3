/** The `--config-file` option shared by both commands: repeatable, later files win. */
import type { Command } from 'commander';
import { loadConfig, type Config, type RawOverrides } from '../common/config/load-config.ts';

export function addConfigFileOption(command: Command): Command {
  return command.option(
    '--config-file <path>',
    'an INI configuration file in nova.conf style; may be given more than once, later files win',
    (value: string, previous: string[]) => [...previous, value],
    [] as string[],
  );
}

export function configFilesOf(command: Command): string[] {
  return (command.optsWithGlobals() as { configFile?: string[] }).configFile ?? [];
}

export function configFrom(command: Command, overrides: RawOverrides = {}): Config {
  return loadConfig(configFilesOf(command), overrides);
}
