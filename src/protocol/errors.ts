/** Typed decoding/encoding failures: callers switch on `code`, log `message`, never see a RangeError. */
export type ProtocolErrorCode =
  | 'WRONG_LENGTH'
  | 'UNKNOWN_REQUEST'
  | 'UNKNOWN_HASH'
  | 'UNTERMINATED_STRING'
  | 'BAD_FAMILY'
  | 'BAD_ADDRESS'
  | 'BAD_MAGIC'
  | 'DOMAIN_TOO_LONG'
  | 'BAD_FIELD';

export class ProtocolError extends Error {
  constructor(
    readonly code: ProtocolErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}
