/** The GRU page's worker: the model trains here; the page only draws. */
import { serveTraining } from '../../src/worker.js';
import { gruJob } from './job.js';

serveTraining(gruJob);
