import { Command } from 'commander';
import { stubCommand } from './not-built.js';

export function registerBench(program: Command): void {
  stubCommand(program, 'bench', 'Load-test RTMP/HTTP-FLV servers and compare them side by side');
}
