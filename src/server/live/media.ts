import { isAudioSequenceHeader, isVideoKeyframe, isVideoSequenceHeader } from '../../protocol/flv.js';
import { MessageType } from '../../protocol/rtmp/message.js';

/**
 * One audio, video or data message of a live stream, shared by every player of it.
 * The payload is the publisher's bytes; nothing is copied per player.
 */
export interface MediaMessage {
  type: number; // MessageType.Audio | Video | DataAmf0
  timestamp: number;
  payload: Buffer;
  keyframe: boolean; // a video keyframe (not a sequence header)
  sequenceHeader: boolean;
  /**
   * The stream's own time under time_jitter full|zero (set by the source; the publisher's
   * timestamp until then): a player's time is `clock - base`, its base taken when it starts.
   */
  clock: number;
  /** clock minus the clock of the previous audio/video message on the same chunk stream; -1 for the first */
  delta: number;
}

export function mediaMessage(type: number, timestamp: number, payload: Buffer): MediaMessage {
  let keyframe = false;
  let sequenceHeader = false;
  if (type === MessageType.Video) {
    sequenceHeader = isVideoSequenceHeader(payload);
    keyframe = !sequenceHeader && isVideoKeyframe(payload);
  } else if (type === MessageType.Audio) {
    sequenceHeader = isAudioSequenceHeader(payload);
  }
  const ts = timestamp >>> 0;
  return { type, timestamp: ts, payload, keyframe, sequenceHeader, clock: ts, delta: -1 };
}
