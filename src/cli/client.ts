import { Command } from 'commander';
import { stubCommand } from './not-built.js';

export function registerPublish(program: Command): void {
  stubCommand(program, 'publish', 'Publish an FLV file to an RTMP URL');
}

export function registerPlay(program: Command): void {
  stubCommand(program, 'play', 'Play an RTMP or HTTP-FLV URL, optionally saving it as FLV');
}
