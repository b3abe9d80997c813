/** Malformed or out-of-bounds protocol input. Ends one connection, never the server. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}
