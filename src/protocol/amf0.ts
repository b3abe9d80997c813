import { ProtocolError } from './errors.js';

/** AMF0 values as JavaScript values. ECMA arrays decode to plain objects. */
export type Amf0Value = number | boolean | string | null | undefined | Date | Amf0Object | Amf0Value[];
export interface Amf0Object {
  [key: string]: Amf0Value;
}

const enum Marker {
  Number = 0x00,
  Boolean = 0x01,
  String = 0x02,
  Object = 0x03,
  MovieClip = 0x04,
  Null = 0x05,
  Undefined = 0x06,
  Reference = 0x07,
  EcmaArray = 0x08,
  ObjectEnd = 0x09,
  StrictArray = 0x0a,
  Date = 0x0b,
  LongString = 0x0c,
  Unsupported = 0x0d,
  XmlDocument = 0x0f,
  TypedObject = 0x10,
}

const MAX_DEPTH = 32;

// ---------------------------------------------------------------- decoding

class Reader {
  pos = 0;
  constructor(readonly buf: Buffer) {}

  need(n: number): void {
    if (this.pos + n > this.buf.length) throw new ProtocolError(`AMF0: truncated at byte ${this.pos} (need ${n} more)`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }
  utf8(len: number): string {
    this.need(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }
}

function readValue(r: Reader, depth: number): Amf0Value {
  if (depth > MAX_DEPTH) throw new ProtocolError('AMF0: nesting too deep');
  const marker = r.u8();
  switch (marker) {
    case Marker.Number:
      return r.f64();
    case Marker.Boolean:
      return r.u8() !== 0;
    case Marker.String:
      return r.utf8(r.u16());
    case Marker.LongString:
    case Marker.XmlDocument:
      return r.utf8(r.u32());
    case Marker.Null:
      return null;
    case Marker.Undefined:
    case Marker.Unsupported:
      return undefined;
    case Marker.Object:
      return readProperties(r, depth);
    case Marker.TypedObject:
      r.utf8(r.u16()); // class name, ignored
      return readProperties(r, depth);
    case Marker.EcmaArray:
      r.u32(); // advisory count; the list still ends with an object-end marker
      return readProperties(r, depth);
    case Marker.StrictArray: {
      const count = r.u32();
      // each value takes at least one byte: refuse counts the input cannot hold
      if (count > r.buf.length - r.pos) throw new ProtocolError(`AMF0: strict array of ${count} items exceeds the message`);
      const out: Amf0Value[] = new Array(count);
      for (let i = 0; i < count; i++) out[i] = readValue(r, depth + 1);
      return out;
    }
    case Marker.Date: {
      const ms = r.f64();
      r.u16(); // time zone, reserved
      return new Date(ms);
    }
    case Marker.Reference:
      r.u16();
      return undefined;
    default:
      throw new ProtocolError(`AMF0: unknown type marker 0x${marker.toString(16)} at byte ${r.pos - 1}`);
  }
}

function readProperties(r: Reader, depth: number): Amf0Object {
  const obj: Amf0Object = {};
  for (;;) {
    const keyLen = r.u16();
    if (keyLen === 0) {
      // empty key: the object-end marker follows (some encoders omit it at the end of the message)
      if (r.pos >= r.buf.length) return obj;
      const m = r.u8();
      if (m === Marker.ObjectEnd) return obj;
      throw new ProtocolError(`AMF0: expected object end, got 0x${m.toString(16)}`);
    }
    const key = r.utf8(keyLen);
    obj[key] = readValue(r, depth + 1);
  }
}

/** Decodes every AMF0 value in `buf`. Throws ProtocolError on malformed input. */
export function decodeAmf0(buf: Buffer): Amf0Value[] {
  const r = new Reader(buf);
  const out: Amf0Value[] = [];
  while (r.pos < buf.length) out.push(readValue(r, 0));
  return out;
}

// ---------------------------------------------------------------- encoding

/** Marks an object to be encoded as an ECMA array (onMetaData uses one). */
export class EcmaArray {
  constructor(readonly entries: Amf0Object) {}
}

export type Amf0Input = Amf0Value | EcmaArray;

function sizeOf(v: Amf0Input): number {
  if (v === null || v === undefined) return 1;
  switch (typeof v) {
    case 'number':
      return 9;
    case 'boolean':
      return 2;
    case 'string': {
      const n = Buffer.byteLength(v);
      return n > 0xffff ? 5 + n : 3 + n;
    }
  }
  if (v instanceof Date) return 11;
  if (Array.isArray(v)) return v.reduce((s: number, x) => s + sizeOf(x), 5);
  const entries = v instanceof EcmaArray ? v.entries : v;
  let n = v instanceof EcmaArray ? 5 : 1;
  for (const k of Object.keys(entries)) {
    const val = entries[k];
    if (val === undefined) continue;
    n += 2 + Buffer.byteLength(k) + sizeOf(val);
  }
  return n + 3;
}

function write(buf: Buffer, pos: number, v: Amf0Input): number {
  if (v === null) {
    buf[pos] = Marker.Null;
    return pos + 1;
  }
  if (v === undefined) {
    buf[pos] = Marker.Undefined;
    return pos + 1;
  }
  switch (typeof v) {
    case 'number':
      buf[pos] = Marker.Number;
      buf.writeDoubleBE(v, pos + 1);
      return pos + 9;
    case 'boolean':
      buf[pos] = Marker.Boolean;
      buf[pos + 1] = v ? 1 : 0;
      return pos + 2;
    case 'string': {
      const n = Buffer.byteLength(v);
      if (n > 0xffff) {
        buf[pos] = Marker.LongString;
        buf.writeUInt32BE(n, pos + 1);
        return pos + 5 + buf.write(v, pos + 5, 'utf8');
      }
      buf[pos] = Marker.String;
      buf.writeUInt16BE(n, pos + 1);
      return pos + 3 + buf.write(v, pos + 3, 'utf8');
    }
  }
  if (v instanceof Date) {
    buf[pos] = Marker.Date;
    buf.writeDoubleBE(v.getTime(), pos + 1);
    buf.writeInt16BE(0, pos + 9);
    return pos + 11;
  }
  if (Array.isArray(v)) {
    buf[pos] = Marker.StrictArray;
    buf.writeUInt32BE(v.length, pos + 1);
    pos += 5;
    for (const x of v) pos = write(buf, pos, x);
    return pos;
  }
  let entries: Amf0Object;
  if (v instanceof EcmaArray) {
    entries = v.entries;
    buf[pos] = Marker.EcmaArray;
    buf.writeUInt32BE(Object.keys(entries).length, pos + 1);
    pos += 5;
  } else {
    entries = v;
    buf[pos++] = Marker.Object;
  }
  for (const k of Object.keys(entries)) {
    const val = entries[k];
    if (val === undefined) continue;
    const n = buf.write(k, pos + 2, 'utf8');
    buf.writeUInt16BE(n, pos);
    pos = write(buf, pos + 2 + n, val);
  }
  buf[pos] = 0;
  buf[pos + 1] = 0;
  buf[pos + 2] = Marker.ObjectEnd;
  return pos + 3;
}

/** Encodes values one after the other, as RTMP command and data messages carry them. */
export function encodeAmf0(values: readonly Amf0Input[]): Buffer {
  let size = 0;
  for (const v of values) size += sizeOf(v);
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (const v of values) pos = write(buf, pos, v);
  return buf;
}
