/** LSTM character-level language model (first cut: trains on the sonnets). */
import sonnets from '../../data/sonnets.txt?raw';
import { SequenceToSequence } from '../../src/models/sequence.js';
import { mulberry32 } from '../../src/nn/init.js';
import { ChunkedFit } from '../common/train.js';
import { clipControl, hiddenControl, lrControl, runDemo, type DemoPage } from '../common/shell.js';

runDemo({
  id: 'lstm',
  title: 'LSTM: character-level language model',
  intro: '<p>An LSTM reads text one character at a time and learns to predict the next one.</p>',
  controls: [hiddenControl(128), lrControl(0.003), clipControl(5), { key: 'seqLen', label: 'sequence length', kind: 'select', value: 32, options: [16, 32, 64] }, { key: 'batch', label: 'batch', kind: 'select', value: 16, options: [8, 16, 32] }],
  setup() {},
  async build(page: DemoPage) {
    const v = page.values;
    const text = sonnets;
    const vocab = [...new Set(text)].sort();
    const ids = Float32Array.from(text, (ch) => vocab.indexOf(ch));
    const T = Number(v.seqLen), B = Number(v.batch);
    const model = new SequenceToSequence(page.rt, { input: 'embedding', inputSize: vocab.length, cell: 'lstm', hiddenSize: Number(v.hidden), outputSize: vocab.length, seed: 1 });
    const rand = mulberry32(7);
    const trainer = new ChunkedFit(model, {
      xShape: [T, B],
      yShape: [T * B],
      batch(_s, x, y) {
        for (let b = 0; b < B; b++) {
          const s = Math.floor(rand() * (ids.length - T - 1));
          for (let t = 0; t < T; t++) {
            x[t * B + b] = ids[s + t]!;
            y[t * B + b] = ids[s + t + 1]!;
          }
        }
      },
    }, { loss: 'cross_entropy', lr: Number(v.lr), clip: Number(v.clip) });
    return {
      train: (from, n) => trainer.train(from, n),
      update: (vals) => trainer.update(vals),
      destroy: () => undefined,
    };
  },
});
