import { randomFillSync } from 'node:crypto';

// Random bytes are drawn 4 KB at a time: one syscall per 256 ids instead of one per id (bulk enqueue).
const pool = Buffer.alloc(4096);
let offset = pool.length;
// Within one millisecond the 12 bits after the version count up (RFC 9562 method 1), so ids made by
// this process sort in creation order even when thousands share a millisecond.
let lastMs = 0;
let sequence = 0;

/**
 * A UUIDv7 (RFC 9562): 48-bit millisecond timestamp then random bits. Ids made this way sort by
 * creation time, so inserts append to the primary-key index instead of splitting random pages, and
 * the admin listing can page by id. Postgres before 18 has no uuidv7(), hence the client side.
 */
export function uuidv7(now = Date.now()): string {
  if (offset + 16 > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const bytes = pool.subarray(offset, offset + 16);
  offset += 16;
  if (now > lastMs) {
    lastMs = now;
    sequence = bytes[7]! & 0x7ff; // a random start leaves room for 2,048+ more ids in this millisecond
  } else if (++sequence > 0xfff) {
    lastMs++; // the counter ran out: borrow the next millisecond rather than go backwards
    sequence = 0;
  }
  bytes.writeUIntBE(lastMs, 0, 6);
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
