/**
 * LSTM character-level language model: trains on the sonnets (or pasted
 * text); between training chunks, samples text one character at a time and
 * draws the input, forget and output gates over a passage as a heat map.
 *
 * The heat map and the sample run on a copy of the model, `reader` (weights
 * copied on the GPU before each view): its forward over the [SAMPLE, 1]
 * passage gives the gates, and its `generate` continues the passage with
 * every character picked on the GPU (one submit, one read-back). The trained
 * model's buffers and plan for [seqLen, batch] are never resized or evicted
 * by the views.
 */
import sonnets from '../../data/sonnets.txt?raw';
import { SequenceToSequence, type SequenceModelOptions } from '../../src/models/sequence.js';
import type { Runtime } from '../../src/runtime.js';
import type { Tensor } from '../../src/tensor.js';
import { PageTrainer, stepRandom } from '../common/train.js';
import { clipControl, hiddenControl, lrControl, runDemo, type DemoPage, type DemoSession } from '../common/shell.js';
import { GateHeatMap, type GateStrip } from './heatmap.js';
import './style.css';

const SEED = 1;
/** Characters in the heat map's passage (which the samples continue). */
const SAMPLE = 60;
/** Units shown per gate. */
const UNITS = 32;
/** A pasted text needs at least this many characters (and twice the sequence length). */
const MIN_TEXT = 100;
/** The gates drawn, by the names `gateActivations` gives them (the cell candidate g is in -1..1: left out). */
const GATES = ['input', 'forget', 'output'];

interface Corpus {
  chars: string[];
  source: string;
  /** Why a pasted text was not used ('' when it was, or when none was pasted). */
  warning: string;
}

function needed(seqLen: number): number {
  return Math.max(MIN_TEXT, 2 * seqLen + 2);
}

/** The pasted text when it is long enough, else the sonnets (and why). */
function chooseText(pasted: string, seqLen: number): Corpus {
  const p = [...pasted.replace(/\r\n?/g, '\n')];
  const sonnetsCorpus = { chars: [...sonnets], source: "Shakespeare's sonnets (built in)" };
  if (!pasted.trim()) return { ...sonnetsCorpus, warning: '' };
  const need = needed(seqLen);
  if (p.length < need) {
    return { ...sonnetsCorpus, warning: `Your text has ${p.length} characters: too short, it needs at least ${need} (for sequence length ${seqLen}). Training on the sonnets instead.` };
  }
  return { chars: p, source: `your text (${p.length} characters)`, warning: '' };
}

/** The heat map's passage: SAMPLE characters from the start of the line nearest the middle of the text. */
function passageStart(chars: string[]): number {
  const mid = Math.floor((chars.length - SAMPLE) / 2);
  let s = mid;
  while (s > 0 && chars[s - 1] !== '\n') s--;
  return Math.max(0, Math.min(s, chars.length - SAMPLE));
}

/** GPU-side copy of every parameter (the models share one configuration, hence one layout). */
function copyWeights(rt: Runtime, from: SequenceToSequence, to: SequenceToSequence): void {
  const dst = to.parameters();
  from.parameters().forEach((p, i) => rt.copy(p.value, dst[i]!.value));
}

// ------------------------------------------------------------------ panels

interface Panels {
  source: HTMLElement;
  note: HTMLElement;
  gen: HTMLElement;
  again: HTMLButtonElement;
  heat: GateHeatMap;
}

let panels!: Panels;
/** The session being shown (for the "sample again" button). */
let current: { view(step: number): Promise<void>; step(): number } | null = null;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  e.className = cls;
  e.textContent = text;
  return e;
}

function setup(page: DemoPage): void {
  const g = page.panel('Generated text', {
    wide: true,
    help:
      'The model continues the grey passage (the one in the heat map below) one character at a time: it predicts a ' +
      'distribution over the next character, one is drawn from it, fed back in, and so on. <b>Temperature</b> divides ' +
      'the scores before the softmax: below 1 the model plays safe (common words, repeats), above 1 it takes risks (more invented words).',
  });
  const source = el('div', 'lstm-source');
  const note = el('div', 'lstm-note');
  const gen = el('pre', 'lstm-gen mono', 'Press Start: samples appear here while the model trains.');
  const row = el('div', 'lstm-row');
  const again = el('button', '', 'Sample again');
  again.type = 'button';
  again.disabled = true;
  again.title = 'Draw a new sample with the current temperature and length';
  row.append(again, el('span', '', 'uses the current weights, temperature and sample length'));
  g.append(source, note, gen, row);
  const h = page.panel('Gate activations', {
    wide: true,
    help:
      `Rows: the first ${UNITS} units of the LSTM; columns: the characters it reads (· a space, ↵ a new line); colour: the gate's ` +
      'value after reading that character, from 0 (closed: blocks) to 1 (open: lets through). Untrained, every gate sits ' +
      'near 0.5; as it learns, look for units that switch at spaces or line ends, and forget-gate rows that stay bright (memory kept over many characters). Hover a cell to read it.',
  });
  const heat = new GateHeatMap(h);
  panels = { source, note, gen, again, heat };
  source.textContent = `Training text: ${chooseText(String(page.values.text), Number(page.values.seqLen)).source} (a pasted text applies at reset).`;

  // A note on the pasted text as it is typed (the controls are rebuilt on reset: listen on the form).
  document.querySelector('form.controls')?.addEventListener('input', (e) => {
    const t = e.target as HTMLTextAreaElement;
    if (t.name !== 'text') return;
    const n = [...t.value].length;
    const need = needed(Number(page.values.seqLen));
    const distinct = new Set(t.value).size;
    if (!t.value.trim()) setNote('The text is empty: the sonnets are used. Press Reset to apply.', false);
    else if (n < need) setNote(`Your text has ${n} characters: too short, it needs at least ${need}. The sonnets are used until it is longer.`, true);
    else setNote(`Your text: ${n} characters, ${distinct} distinct. Press Reset, then Start, to train on it.`, false);
  });
  again.onclick = () => {
    if (!current) return;
    again.disabled = true;
    void current.view(current.step()).finally(() => (again.disabled = !current));
  };
}

function setNote(text: string, warn: boolean): void {
  panels.note.textContent = text;
  panels.note.classList.toggle('warn', warn);
}

// ----------------------------------------------------------------- session

async function build(page: DemoPage): Promise<DemoSession> {
  const { rt, values: v } = page;
  const T = Number(v.seqLen);
  const B = Number(v.batch);
  const H = Number(v.hidden);
  const corpus = chooseText(String(v.text), T);
  const { chars } = corpus;
  const vocab = [...new Set(chars)].sort();
  const V = vocab.length;
  const index = new Map(vocab.map((ch, i) => [ch, i]));
  const ids = Float32Array.from(chars, (ch) => index.get(ch)!);
  panels.source.textContent = `Training text: ${corpus.source}, ${V} distinct characters; a uniform guess scores ln ${V} = ${Math.log(V).toFixed(2)}.`;
  setNote(corpus.warning, corpus.warning !== '');
  page.setOutput('source', corpus.source);
  page.setOutput('vocab', vocab.join(''));
  if (corpus.warning) page.setOutput('warning', corpus.warning);

  const opts: SequenceModelOptions = { input: 'embedding', inputSize: V, cell: 'lstm', hiddenSize: H, outputSize: V, seed: SEED };
  const model = new SequenceToSequence(rt, opts);
  const reader = new SequenceToSequence(rt, opts);
  const at = passageStart(chars);
  const passage = chars.slice(at, at + SAMPLE);
  const passageIds = Array.from(ids.subarray(at, at + SAMPLE));
  const readerX: Tensor = rt.tensor(passageIds, [SAMPLE, 1], 'lstm.passage');

  // Random windows of the text (drawn from the step: a pure function of it); the targets are the inputs shifted by one character.
  const trainer = new PageTrainer(
    model,
    {
      xShape: [T, B],
      yShape: [T * B],
      numClasses: V,
      batch(step, x, y) {
        const rand = stepRandom(SEED + 6, step);
        for (let b = 0; b < B; b++) {
          const s = Math.floor(rand() * (ids.length - T - 1));
          for (let t = 0; t < T; t++) {
            x[t * B + b] = ids[s + t]!;
            y[t * B + b] = ids[s + t + 1]!;
          }
        }
      },
    },
    { loss: 'cross_entropy', lr: Number(v.lr), clip: Number(v.clip) },
  );

  let step = 0;
  let destroyed = false;

  /** The heat map and a sample, from the weights after `at` steps. */
  async function view(atStep: number): Promise<void> {
    if (destroyed) return;
    const t0 = performance.now();
    copyWeights(rt, model, reader);
    // The passage in one forward: gates for the heat map.
    reader.forward(readerX);
    const acts = await reader.rnn.gateActivations();
    showGates(acts.names, acts.values, acts.H);

    // Its continuation, sampled on the GPU (seeded by the step: the same weights give the same text).
    const temperature = Number(page.values.temperature);
    const length = Number(page.values.genLength);
    const [out] = await reader.generate(length, { prime: passageIds, temperature, seed: SEED + atStep });
    if (destroyed) return;
    const text = out!.map((i) => vocab[i]!).join('');
    panels.gen.replaceChildren(el('span', 'prime', passage.join('')), el('span', 'cont', text));
    panels.gen.title = `step ${atStep}, temperature ${temperature}`;
    page.setOutput('generated', text);
    page.setOutput('temperature', temperature);
    page.setOutput('viewStep', atStep);
    page.setOutput('viewMs', Math.round(performance.now() - t0));
  }

  /** Draws the chosen gates and records their statistics (over all units, not only those drawn). */
  function showGates(names: string[], values: Float32Array, hidden: number): void {
    const G = names.length;
    const shown = Math.min(UNITS, hidden);
    const strips: GateStrip[] = [];
    const mean: Record<string, number> = {};
    const min: Record<string, number> = {};
    const max: Record<string, number> = {};
    for (const name of GATES) {
      const g = names.indexOf(name);
      const vals = new Float32Array(shown * SAMPLE);
      let sum = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (let t = 0; t < SAMPLE; t++) {
        // values[((t * B + b) * G + g) * H + j], here with B = 1.
        const row = (t * G + g) * hidden;
        for (let j = 0; j < hidden; j++) {
          const a = values[row + j]!;
          sum += a;
          lo = Math.min(lo, a);
          hi = Math.max(hi, a);
          if (j < shown) vals[j * SAMPLE + t] = a;
        }
      }
      strips.push({ name, values: vals });
      mean[name] = sum / (SAMPLE * hidden);
      min[name] = lo;
      max[name] = hi;
    }
    const summary = `mean over all ${hidden} units and ${SAMPLE} characters: ` + GATES.map((n) => `${n} ${mean[n]!.toFixed(3)}`).join(' · ');
    panels.heat.set({ chars: passage, units: shown, strips }, summary);
    page.setOutput('gates', { names: GATES, T: SAMPLE, H: shown, hidden, text: passage.join(''), mean, min, max });
  }

  // Views run one at a time (the shell's, and the "sample again" button's).
  let queue: Promise<void> = Promise.resolve();
  const queued = (s: number): Promise<void> => (queue = queue.then(() => view(s)));
  current = { view: queued, step: () => step };
  panels.again.disabled = false;

  return {
    async train(from, n) {
      const pts = await trainer.train(from, n);
      step = from + n;
      return pts;
    },
    view: queued,
    update: (vals) => trainer.update(vals),
    // The metadata `webgpu-rnn sample --checkpoint FILE` reads: the page's model samples from the command line too.
    checkpoint: async (atStep) => ({
      bytes: await trainer.checkpoint({
        'charmodel.arch': 'lstm',
        'charmodel.hidden': String(H),
        'charmodel.layers': '1',
        'charmodel.vocab': JSON.stringify(vocab),
        'charmodel.embedding': String(opts.embeddingDim ?? H),
      }),
      filename: `lstm-char-step${atStep}.safetensors`,
    }),
    destroy() {
      destroyed = true;
      current = null;
      panels.again.disabled = true;
      // After a view still in flight (it stops at its next read).
      void queue.then(() => {
        for (const m of [model, reader]) m.destroy();
        readerX.destroy();
        trainer.destroy();
      });
    },
  };
}

runDemo({
  id: 'lstm',
  title: 'LSTM: character-level language model',
  intro: `
<p>An LSTM reads text one character at a time and learns to predict the next one. It trains on Shakespeare's sonnets,
or on any text you paste below (it applies at <b>Reset</b>). Each step it reads <i>batch</i> random stretches of
<i>sequence length</i> characters and is scored by cross-entropy: the loss starts near ln V (a uniform guess over the V
distinct characters) and falls as it learns letter frequencies, then spelling, words and line breaks.</p>
<p>Each LSTM unit keeps a <b>cell</b> c, its memory, and three <b>gates</b>, each between 0 and 1 and computed from the
current character and the previous output h: the <b>forget</b> gate f keeps (1) or erases (0) what the cell holds; the
<b>input</b> gate i decides how much of a new candidate g (in −1..1) is written in; the <b>output</b> gate o decides how
much of the cell is exposed as h, which the next step and the prediction see:
c<sub>t</sub> = f ⊙ c<sub>t−1</sub> + i ⊙ g, h<sub>t</sub> = o ⊙ tanh(c<sub>t</sub>).
The heat map below shows the three gates over a passage of the text; the sample continues that passage.</p>`,
  controls: [
    hiddenControl(128, [32, 64, 128, 256]),
    { key: 'seqLen', label: 'sequence length', kind: 'select', value: 64, options: [16, 32, 64, 100] },
    { key: 'batch', label: 'batch', kind: 'select', value: 32, options: [8, 16, 32, 64] },
    lrControl(0.003),
    clipControl(5),
    {
      key: 'temperature',
      label: 'temperature',
      kind: 'range',
      value: 0.7,
      min: 0.1,
      max: 1.5,
      step: 0.05,
      live: true,
      format: (x) => Number(x).toFixed(2),
      title: 'Sampling temperature: low = safe and repetitive, high = adventurous',
    },
    { key: 'genLength', label: 'sample length', kind: 'select', value: 200, options: [100, 200, 400], live: true },
    { key: 'text', label: 'your text (empty: the sonnets)', kind: 'textarea', value: '', title: `At least ${MIN_TEXT} characters; applies at reset` },
  ],
  viewEveryMs: 2000,
  setup,
  build,
});
