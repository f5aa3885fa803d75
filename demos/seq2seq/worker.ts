/** The encoder-decoder page's worker: the model trains and decodes here; the page only draws. */
import { serveTraining } from '../../src/worker.js';
import { seq2seqJob } from './job.js';

serveTraining(seq2seqJob);
