import { Command, CommanderError } from 'commander';
import chalk from 'chalk';
import { UserError } from '../errors.js';
import { registerTune } from './tune.js';
import { registerDiagnose } from './diagnose.js';
import { registerServe } from './serve.js';
import { registerBench } from './bench.js';
import { registerProfile } from './profile.js';
import { registerPublish, registerPlay } from './client.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('srsx')
    .description('Tune, diagnose, serve, load-test and profile live-streaming servers on Linux.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride();
  registerTune(program);
  registerDiagnose(program);
  registerServe(program);
  registerPublish(program);
  registerPlay(program);
  registerBench(program);
  registerProfile(program);
  program.addHelpText('after', `
Examples:
  srsx tune --udp 16M --dry-run      show what would change, change nothing
  srsx tune --profile rtc            apply the RTC profile (16 MB UDP buffers)
  srsx diagnose udp-drops            UDP drops over 30 s, with a verdict
  srsx serve -c conf/srs.conf        run the reference RTMP/HTTP-FLV server
  srsx bench rtmp-load -c 800 -r rtmp://127.0.0.1/live/livestream
  srsx profile --perf 30s            perf profile of the running server`);
  return program;
}

/** Prints an error the way every srsx command does, and returns the exit code. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed its message (help, version or usage error)
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2;
  }
  if (err instanceof UserError) {
    process.stderr.write(`${chalk.red('srsx: error:')} ${err.message}\n`);
    if (err.hint) process.stderr.write(`  ${chalk.dim('hint:')} ${err.hint}\n`);
    return err.exitCode;
  }
  const e = err as Error;
  process.stderr.write(`${chalk.red('srsx: internal error:')} ${e?.message ?? String(err)}\n`);
  if (process.env.SRSX_DEBUG) process.stderr.write(`${e?.stack ?? ''}\n`);
  else process.stderr.write('  (this is a bug in srsx; run with SRSX_DEBUG=1 for the stack and report it)\n');
  return 1;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

await main();
