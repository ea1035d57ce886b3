/**
 * The clock a drain pass counts its deadline, stop time and leases on: wall time as of the process's
 * start, advanced by the monotonic clock. A system clock that jumps (NTP stepping it, a VM resumed, an
 * operator's fix) then neither ends a pass at once, abandoning its outcomes to the leases, nor lets it
 * run past its function's limit. Times written for others (idle hints, a sleep's end) stay on Date.now().
 */
const origin = Date.now() - performance.now();

export const monotonicNow = (): number => origin + performance.now();

/** An epoch-ms time a caller gave (Date.now()-based: a platform's deadline), on the monotonic clock. */
export const toMonotonic = (epochMs: number): number => monotonicNow() + (epochMs - Date.now());
