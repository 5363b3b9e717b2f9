/**
 * A sweep worker thread (sim/sweep/pool.ts starts it): runs the steps it is sent, one at a time,
 * and posts each summary back. A bug throws, and the pool reports it.
 */
import { parentPort } from 'node:worker_threads';
import { runStep, type StepJob } from './step.ts';

const port = parentPort;
if (port === null) throw new Error('sim/sweep/worker.ts runs as a worker thread');
port.on('message', (job: StepJob) => {
  port.postMessage(runStep(job));
});
