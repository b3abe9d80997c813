import { Command } from 'commander';
import { stubCommand } from './not-built.js';

export function registerTune(program: Command): void {
  stubCommand(program, 'tune', 'Apply, persist, verify and revert host tuning (UDP buffers, IRQ affinity, process CPU/nice/fd limits)');
}
