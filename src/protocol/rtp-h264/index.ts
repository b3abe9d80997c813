export * from './avc.js';
export * from './rtp.js';
export * from './packetizer.js';
export * from './depacketizer.js';
