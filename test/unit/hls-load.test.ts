// bench hls-load's playlist parsing: srsx's and SRS 7's media playlists, SRS 7's master playlist with hls_ctx.
import { masterPlaylistVariant, parseMediaPlaylist } from '../../src/bench/hls-load.js';

const srsxPlaylist = `#EXTM3U
#EXT-X-VERSION:3
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-TARGETDURATION:2
#EXTINF:2.000, no desc
livestream-7.ts
#EXT-X-DISCONTINUITY
#EXTINF:1.960, no desc
livestream-8.ts
`;

describe('parseMediaPlaylist', () => {
  it('numbers segments from the media sequence and keeps their EXTINF durations', () => {
    expect(parseMediaPlaylist(srsxPlaylist)).toEqual({
      targetDuration: 2,
      mediaSequence: 7,
      endList: false,
      segments: [
        { seq: 7, uri: 'livestream-7.ts', duration: 2 },
        { seq: 8, uri: 'livestream-8.ts', duration: 1.96 },
      ],
    });
  });

  it('reads CRLF lines, query strings in URIs and EXT-X-ENDLIST', () => {
    const p = parseMediaPlaylist('#EXTM3U\r\n#EXT-X-TARGETDURATION:3\r\n#EXTINF:3.0,\r\nlivestream-0.ts?hls_ctx=abc\r\n#EXT-X-ENDLIST\r\n');
    expect(p?.segments).toEqual([{ seq: 0, uri: 'livestream-0.ts?hls_ctx=abc', duration: 3 }]);
    expect(p?.endList).toBe(true);
  });

  it('refuses what is not a media playlist', () => {
    expect(parseMediaPlaylist('<html>404</html>')).toBeUndefined();
    expect(parseMediaPlaylist('#EXTM3U\n#EXTINF:2,\na.ts\n')).toBeUndefined(); // no target duration
    expect(parseMediaPlaylist('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n/live/livestream.m3u8?hls_ctx=x\n')).toBeUndefined();
  });
});

describe('masterPlaylistVariant', () => {
  it("gives SRS 7's session playlist URI, and nothing for a media playlist", () => {
    expect(masterPlaylistVariant('#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1,AVERAGE-BANDWIDTH=1\n/live/livestream.m3u8?hls_ctx=t9d03092\n')).toBe('/live/livestream.m3u8?hls_ctx=t9d03092');
    expect(masterPlaylistVariant(srsxPlaylist)).toBeUndefined();
  });
});
