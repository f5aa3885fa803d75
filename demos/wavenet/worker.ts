/** The WaveNet page's worker: the network trains and generates here; the page plots and plays. */
import { serveTraining } from '../../src/worker.js';
import { wavenetJob } from './job.js';

serveTraining(wavenetJob);
