import { Command } from 'commander';
import { stubCommand } from './not-built.js';

export function registerServe(program: Command): void {
  stubCommand(program, 'serve', 'Run the reference RTMP + HTTP-FLV server with an SRS-compatible HTTP API');
}
