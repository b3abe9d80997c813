import { decodeAmf0, encodeAmf0, type Amf0Input, type Amf0Object, type Amf0Value } from '../amf0.js';
import { ProtocolError } from '../errors.js';
import { ChunkStreamId, MessageType, UserControlEvent, type RtmpMessage } from './message.js';

/** Builders for protocol control, user control and command messages (payload + routing). */

function u32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

function control(type: number, payload: Buffer): RtmpMessage {
  return { csid: ChunkStreamId.ProtocolControl, type, streamId: 0, timestamp: 0, payload };
}

export const setChunkSize = (size: number): RtmpMessage => control(MessageType.SetChunkSize, u32(size));
export const windowAckSize = (size: number): RtmpMessage => control(MessageType.WindowAckSize, u32(size));
export const acknowledgement = (bytes: number): RtmpMessage => control(MessageType.Acknowledgement, u32(bytes));

/** limitType: 0 hard, 1 soft, 2 dynamic */
export function setPeerBandwidth(size: number, limitType = 2): RtmpMessage {
  const b = Buffer.allocUnsafe(5);
  b.writeUInt32BE(size >>> 0, 0);
  b[4] = limitType;
  return control(MessageType.SetPeerBandwidth, b);
}

export function userControl(event: number, value: number, extra?: number): RtmpMessage {
  const b = Buffer.allocUnsafe(extra === undefined ? 6 : 10);
  b.writeUInt16BE(event, 0);
  b.writeUInt32BE(value >>> 0, 2);
  if (extra !== undefined) b.writeUInt32BE(extra >>> 0, 6);
  return control(MessageType.UserControl, b);
}

export const streamBegin = (streamId: number) => userControl(UserControlEvent.StreamBegin, streamId);
export const streamEOF = (streamId: number) => userControl(UserControlEvent.StreamEOF, streamId);
export const pingRequest = (time: number) => userControl(UserControlEvent.PingRequest, time);
export const pingResponse = (time: number) => userControl(UserControlEvent.PingResponse, time);
export const setBufferLength = (streamId: number, ms: number) => userControl(UserControlEvent.SetBufferLength, streamId, ms);

export interface UserControlMessage {
  event: number;
  value: number;
  extra?: number;
}

export function parseUserControl(payload: Buffer): UserControlMessage {
  if (payload.length < 6) throw new ProtocolError(`user control message of ${payload.length} bytes (needs 6)`);
  return {
    event: payload.readUInt16BE(0),
    value: payload.readUInt32BE(2),
    extra: payload.length >= 10 ? payload.readUInt32BE(6) : undefined,
  };
}

export function readU32(payload: Buffer, what: string): number {
  if (payload.length < 4) throw new ProtocolError(`${what} message of ${payload.length} bytes (needs 4)`);
  return payload.readUInt32BE(0);
}

// ---------------------------------------------------------------- commands

export interface Command {
  name: string;
  transactionId: number;
  /** the command object (null for most stream commands) */
  object: Amf0Value;
  args: Amf0Value[];
}

/** Decodes an AMF0 command message (type 20) or an AMF3 command (type 17, AMF0 body after one byte). */
export function parseCommand(msg: RtmpMessage): Command {
  const body = msg.type === MessageType.CommandAmf3 && msg.payload.length > 0 && msg.payload[0] === 0 ? msg.payload.subarray(1) : msg.payload;
  const values = decodeAmf0(body);
  const [name, txid, object, ...args] = values;
  if (typeof name !== 'string') throw new ProtocolError('command message does not start with a command name');
  return { name, transactionId: typeof txid === 'number' ? txid : 0, object: object ?? null, args };
}

export function command(name: string, transactionId: number, object: Amf0Input, args: Amf0Input[] = [], streamId = 0, csid: number = ChunkStreamId.OverConnection): RtmpMessage {
  return {
    csid,
    type: MessageType.CommandAmf0,
    streamId,
    timestamp: 0,
    payload: encodeAmf0([name, transactionId, object, ...args]),
  };
}

export function onStatus(streamId: number, level: 'status' | 'error' | 'warning', code: string, description: string, extra: Amf0Object = {}): RtmpMessage {
  return command('onStatus', 0, null, [{ level, code, description, ...extra }], streamId, ChunkStreamId.OverStream);
}

export function dataMessage(streamId: number, values: Amf0Input[], timestamp = 0): RtmpMessage {
  return { csid: ChunkStreamId.OverStream, type: MessageType.DataAmf0, streamId, timestamp, payload: encodeAmf0(values) };
}
