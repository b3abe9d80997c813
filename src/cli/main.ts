import { Command, CommanderError } from 'commander';
import chalk from 'chalk';
import { UserError } from '../errors.js';
import { VERSION } from '../version.js';

type Register = (program: Command) => void;

/**
 * Each subcommand's module, loaded on demand: `srsx serve` should not carry vega, d3,
 * systeminformation and the rest in a process that runs for months (idle RSS measured 91 -> 70 MB).
 * Listed in help order.
 */
const SUBCOMMANDS: Record<string, () => Promise<Register>> = {
  tune: async () => (await import('./tune.js')).registerTune,
  diagnose: async () => (await import('./diagnose.js')).registerDiagnose,
  serve: async () => (await import('./serve.js')).registerServe,
  publish: async () => (await import('./client.js')).registerPublish,
  play: async () => (await import('./client.js')).registerPlay,
  bench: async () => (await import('./bench.js')).registerBench,
  profile: async () => (await import('./profile.js')).registerProfile,
};

/** The program with the subcommand named in `argv` only, or with all of them (help, unknown names). */
export async function buildProgram(argv: readonly string[] = process.argv): Promise<Command> {
  const program = new Command();
  program
    .name('srsx')
    .description('Tune, diagnose, serve, load-test and profile live-streaming servers on Linux.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions()
    .exitOverride();
  const named = argv[2];
  const names = named !== undefined && Object.hasOwn(SUBCOMMANDS, named) ? [named] : Object.keys(SUBCOMMANDS);
  for (const name of names) (await SUBCOMMANDS[name]!())(program);
  program.addHelpText('after', `
Examples:
  srsx tune --udp 16M --dry-run      show what would change, change nothing
  srsx tune --profile rtc            apply the RTC profile (16 MB UDP buffers)
  srsx diagnose udp-drops            UDP drops over 5 s (--interval 30s as the guide), with a verdict
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

/**
 * A reader that went away (`srsx tune … | head -1`): stop quietly, as cat does, with the exit code so
 * far, never a stack trace. Not for serve, which must not die with whoever reads its console.
 */
export function quietOnClosedPipe(argv: readonly string[] = process.argv): void {
  if (argv[2] === 'serve') return;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit();
    });
  }
}

export async function main(argv: string[] = process.argv): Promise<void> {
  quietOnClosedPipe(argv);
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

await main();
