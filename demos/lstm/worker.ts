/** The LSTM page's worker: the model trains here; the page only draws. */
import { serveTraining } from '../../src/worker.js';
import { lstmJob } from './job.js';

serveTraining(lstmJob);
