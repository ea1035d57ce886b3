import { describe, expect, it } from 'vitest';
import * as engine from '../lib/engine.js';
import * as main from '../lib/index.js';

// The package's run-time names, entry by entry: a name added or dropped here is a change to the public
// API (CHANGELOG, version), made on purpose. Types are checked by test/types.test-d.ts and the docs' samples.
describe('public API', () => {
  it('sluice: the instance, definitions, hint stores, route helpers, errors and signals', () => {
    expect(Object.keys(main).sort()).toEqual([
      'ChildJobError', 'HttpError', 'JobCancelledError', 'JobNotFoundError', 'JobStateError', 'LeaseLostError', 'MisconfiguredError', 'PayloadTooLargeError', 'PermanentError',
      'RetryLaterError', 'SluiceError', 'StepResultError', 'UnknownJobTypeError', 'ValidationError',
      'createSluice', 'defineJob', 'defineSchedule', 'errorResponse', 'jsonBody', 'memoryHintStore', 'runtimeCacheHintStore',
    ]);
  });

  it('sluice/engine: the free functions over a database, and the same definitions and errors', () => {
    expect(Object.keys(engine).sort()).toEqual([
      'BULK_LIMIT', 'ChildJobError', 'DEFAULT_BACKOFF', 'JOB_STATUSES', 'JobCancelledError', 'JobNotFoundError', 'JobStateError', 'LeaseLostError', 'MAX_FLOW_LIMIT',
      'MisconfiguredError', 'PayloadTooLargeError', 'PermanentError', 'RetryLaterError', 'SluiceError', 'StepResultError',
      'UnknownJobTypeError', 'ValidationError', 'appScope', 'backoffDelayMs', 'cancelDeadJobs', 'cancelJob', 'connect', 'defineJob',
      'defineSchedule', 'drain', 'enqueue', 'enqueueMany', 'exportJobs', 'getJob', 'jobResult', 'listDeadJobs', 'listJobs', 'migrate', 'pauseType', 'pausedTypes',
      'pickDriver', 'queueHistory', 'queueStats', 'replayJob', 'replayJobs', 'resumeType', 'retryDeadJobs', 'retryJob', 'sendEvent',
    ]);
    // One definition and one error class whichever entry a file imports them from.
    expect(engine.defineJob).toBe(main.defineJob);
    expect(engine.PermanentError).toBe(main.PermanentError);
  });
});
