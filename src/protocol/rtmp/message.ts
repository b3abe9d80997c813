/** One RTMP message, as the chunk stream delivers it and as the writer serialises it. */
export interface RtmpMessage {
  /** chunk stream id it arrived on / should be sent on */
  csid: number;
  type: number;
  /** message stream id */
  streamId: number;
  /** absolute timestamp in ms (uint32) */
  timestamp: number;
  payload: Buffer;
}

export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;

export const UserControlEvent = {
  StreamBegin: 0,
  StreamEOF: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

/** Chunk stream ids srsx sends on, as SRS does. */
export const ChunkStreamId = {
  ProtocolControl: 2,
  OverConnection: 3,
  OverConnection2: 4,
  OverStream: 5,
  Video: 6,
  Audio: 7,
  OverStream2: 8,
} as const;
