import { Command } from 'commander';
import { stubCommand } from './not-built.js';

export function registerProfile(program: Command): void {
  stubCommand(program, 'profile', 'Profile the running server with perf, valgrind, ASAN, strace or V8 profiles');
}
