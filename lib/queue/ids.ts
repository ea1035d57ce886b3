import { randomFillSync } from 'node:crypto';

// Random bytes are drawn 4 KB at a time: one syscall per 400 ids instead of one per id (bulk enqueue).
const pool = Buffer.alloc(4096);
let offset = pool.length;
const RANDOM_BYTES = 10; // 2 for the sequence's random start, 8 for the variant byte and the random tail
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
// Within one millisecond the 12 bits after the version count up (RFC 9562 method 1), so ids made by
// this process sort in creation order even when thousands share a millisecond.
let lastMs = 0;
let sequence = 0;
// "tttttttt-tttt-", the timestamp part of lastMs's ids: made once per millisecond, not once per id.
let prefixMs = -1;
let prefix = '';

/**
 * A UUIDv7 (RFC 9562): 48-bit millisecond timestamp then random bits. Ids made this way sort by
 * creation time, so inserts append to the primary-key index instead of splitting random pages, and
 * the admin listing can page by id. Postgres before 18 has no uuidv7(), hence the client side.
 * The text is put together from a byte-to-hex table: a bulk enqueue makes a thousand ids per call,
 * and a Buffer view, a hex string and its slices per id cost about as much as validating the job.
 */
export function uuidv7(now = Date.now()): string {
  if (offset + RANDOM_BYTES > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const o = offset;
  offset += RANDOM_BYTES;
  if (now > lastMs) {
    lastMs = now;
    sequence = ((pool[o]! << 8) | pool[o + 1]!) & 0x7ff; // a random start leaves room for 2,048+ more ids in this millisecond
  } else if (++sequence > 0xfff) {
    lastMs++; // the counter ran out: borrow the next millisecond rather than go backwards
    sequence = 0;
  }
  if (lastMs !== prefixMs) {
    prefixMs = lastMs;
    const hex = lastMs.toString(16).padStart(12, '0');
    prefix = `${hex.slice(0, 8)}-${hex.slice(8)}-`;
  }
  // Version 7 in the high nibble before the sequence; variant 0b10 in the top bits of the 9th byte.
  return (
    prefix + HEX[0x70 | (sequence >> 8)]! + HEX[sequence & 0xff]! + '-' +
    HEX[(pool[o + 2]! & 0x3f) | 0x80]! + HEX[pool[o + 3]!]! + '-' +
    HEX[pool[o + 4]!]! + HEX[pool[o + 5]!]! + HEX[pool[o + 6]!]! + HEX[pool[o + 7]!]! + HEX[pool[o + 8]!]! + HEX[pool[o + 9]!]!
  );
}
