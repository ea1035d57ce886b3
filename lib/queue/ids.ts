import { randomFillSync } from 'node:crypto';

// Random bytes are drawn 4 KB at a time: one syscall per 256 ids instead of one per id (bulk enqueue).
const pool = Buffer.alloc(4096);
let offset = pool.length;

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
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
