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
  return { type, timestamp: timestamp >>> 0, payload, keyframe, sequenceHeader };
}
