/** The RNN page's worker: both networks train here; the page only draws. */
import { serveTraining } from '../../src/worker.js';
import { rnnJob } from './job.js';

serveTraining(rnnJob);
