/**
 * LSTM character-level language model: trains on the sonnets (or pasted
 * text); between training chunks, samples text one character at a time and
 * draws the input, forget and output gates over a passage as a heat map.
 *
 * The model trains in the page's worker (job.ts, worker.ts); this file only
 * draws what the job posts back: the gates over a passage and the sample.
 */
import { runDemo, clipControl, hiddenControl, lrControl, type DemoPage } from '../common/shell.js';
import { GateHeatMap, type GateStrip } from './heatmap.js';
import { MIN_TEXT, SAMPLE, chooseText, lstmJob, needed, type LstmInfo, type LstmView } from './job.js';
import './style.css';

/** Units shown per gate. */
const UNITS = 32;
/** The gates drawn, by the names `gateActivations` gives them (the cell candidate g is in -1..1: left out). */
const GATES = ['input', 'forget', 'output'];

// ------------------------------------------------------------------ panels

interface Panels {
  source: HTMLElement;
  note: HTMLElement;
  gen: HTMLElement;
  again: HTMLButtonElement;
  heat: GateHeatMap;
}

let panels!: Panels;
/** The passage of the job being shown. */
let passage: string[] = [];

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
    if (!page.hasModel) return;
    again.disabled = true;
    page.refresh();
  };
}

function setNote(text: string, warn: boolean): void {
  panels.note.textContent = text;
  panels.note.classList.toggle('warn', warn);
}

// ----------------------------------------------------------------- drawing

function built(page: DemoPage, info: unknown): void {
  const i = info as LstmInfo;
  const V = i.vocab.length;
  passage = i.passage;
  panels.source.textContent = `Training text: ${i.source}, ${V} distinct characters; a uniform guess scores ln ${V} = ${Math.log(V).toFixed(2)}.`;
  setNote(i.warning, i.warning !== '');
  page.setOutput('source', i.source);
  page.setOutput('vocab', i.vocab.join(''));
  if (i.warning) page.setOutput('warning', i.warning);
  else delete page.state.output.warning;
  panels.again.disabled = false;
}

function el2<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text = ''): HTMLElementTagNameMap[K] {
  return el(tag, cls, text);
}

/** Draws the heat map and the sample the job computed after `atStep` steps. */
function show(page: DemoPage, view: unknown, atStep: number): void {
  const v = view as LstmView;
  showGates(page, v.names, v.values, v.H);
  panels.gen.replaceChildren(el2('span', 'prime', passage.join('')), el2('span', 'cont', v.generated));
  panels.gen.title = `step ${atStep}, temperature ${v.temperature}`;
  page.setOutput('generated', v.generated);
  page.setOutput('temperature', v.temperature);
  page.setOutput('viewStep', atStep);
  page.setOutput('viewMs', v.ms);
  panels.again.disabled = false;
}

/** Draws the chosen gates and records their statistics (over all units, not only those drawn). */
function showGates(page: DemoPage, names: string[], values: Float32Array, hidden: number): void {
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
  job: lstmJob,
  worker: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }),
  built,
  show,
  reset: () => (panels.again.disabled = true),
  checkpointName: (step) => `lstm-char-step${step}.safetensors`,
  refreshOn: ['temperature', 'genLength'],
});
