import { Command } from 'commander';
import { UserError } from '../errors.js';

/** Placeholder action for a subcommand whose issue is not done yet: says so, exits 2. */
export function notBuilt(what: string) {
  return (): never => {
    throw new UserError(`\`srsx ${what}\` is not built yet`, { hint: 'see the project issues for its status' });
  };
}

export function stubCommand(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(`${description} (not built yet)`)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(notBuilt(name));
}
