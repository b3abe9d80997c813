import { Command } from 'commander';
import { stubCommand } from './not-built.js';

export function registerDiagnose(program: Command): void {
  stubCommand(program, 'diagnose', 'Diagnose UDP drops, socket queues, CPU/softirq/IRQ placement and the server process');
}
