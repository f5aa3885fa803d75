/**
 * Encoder-decoder page: an LSTM (or GRU) encoder reads a digit string, its
 * final state starts a decoder that writes the answer one digit at a time.
 * Tasks: reverse a string, or add two numbers. Shows the held-out accuracy
 * (greedy decoding) over training, a few held-out examples, and decodes what
 * the user types. The model trains, evaluates and decodes in the page's
 * worker (job.ts; the text box is a `decode` request); this file draws.
 *
 * Test outputs (`window.__demo.output`): `accuracy` {exact, perChar} at the
 * last view, `examples` [{input, expected, decoded}], and after a decode from
 * the text box `userDecoded` {input, output}.
 */
import { clipControl, hiddenControl, lrControl, runDemo, type DemoPage } from '../common/shell.js';
import { LinePlot } from '../common/plot.js';
import { HELD_OUT, seq2seqJob, type Seq2seqView } from './job.js';
import { TASKS, taskNamed, type Task } from './tasks.js';
import type { Decoded } from './trainer.js';
import './style.css';
/** Held-out examples listed on the page. */
const SHOWN = 8;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** `decoded` with each character marked right or wrong against `expected` (missing ones shown as '_'). */
function marked(expected: string, decoded: string): HTMLElement {
  const box = el('span', { class: 's2s-chars' });
  for (let i = 0; i < Math.max(expected.length, decoded.length); i++) {
    const ch = decoded[i];
    box.append(el('span', { class: ch !== undefined && ch === expected[i] ? 'ok' : 'bad' }, ch ?? '_'));
  }
  if (!expected.length && !decoded.length) box.textContent = '(empty)';
  return box;
}

const pct = (v: number): string => `${(100 * v).toFixed(1)}%`;

/** The page's own state: the panels, and the model of the current session (null before Start and after Reset). */
interface Ui {
  plot: LinePlot;
  accLine: HTMLElement;
  examples: HTMLTableSectionElement;
  input: HTMLInputElement;
  decodeBtn: HTMLButtonElement;
  message: HTMLElement;
  result: HTMLElement;
}
let ui: Ui;
/** The task of the model being trained (the model itself is in the job), null before Start and after Reset. */
let current: { task: Task } | null = null;

/** The task the text box is for: the trained model's, else the one selected. */
function activeTask(page: DemoPage): Task {
  return current?.task ?? taskNamed(page.values.task);
}

function showHint(page: DemoPage): void {
  const t = activeTask(page);
  ui.input.placeholder = `e.g. ${t.sample}`;
  ui.message.className = 's2s-message';
  ui.message.textContent = `Task: ${t.describe}.`;
}

function setMessage(text: string, kind: 'note' | 'invalid'): void {
  ui.message.className = `s2s-message ${kind}`;
  ui.message.textContent = text;
}

async function decodeUserInput(page: DemoPage): Promise<void> {
  const input = ui.input.value.trim();
  const task = activeTask(page);
  const problem = task.validate(input);
  ui.input.classList.toggle('invalid', problem !== null);
  if (problem) {
    setMessage(problem, 'invalid');
    return;
  }
  if (!current || !page.hasModel) {
    setMessage('There is no model yet: press Start (the model is built when training starts), then decode.', 'note');
    return;
  }
  ui.decodeBtn.disabled = true;
  setMessage('Decoding...', 'note');
  try {
    const output = await page.request<string>('decode', input);
    const expected = task.answer(input);
    ui.result.textContent = '';
    const row = (k: string, v: HTMLElement | string) => {
      const line = el('div', { class: 's2s-row' });
      line.append(el('span', { class: 'k' }, k), typeof v === 'string' ? el('code', {}, v) : v);
      ui.result.append(line);
    };
    row('input', input);
    const dec = el('code', { id: 's2s-decoded' });
    dec.append(marked(expected, output));
    dec.dataset.output = output;
    row('decoded', dec);
    row('expected', expected);
    const ok = output === expected;
    ui.result.append(el('div', { class: `s2s-verdict ${ok ? 'ok' : 'bad'}` }, ok ? '✓ correct' : '✗ not (yet) right'));
    ui.result.dataset.input = input;
    setMessage(`Greedy decoding by the model after ${page.state.step} training steps.`, 'note');
    page.setOutput('userDecoded', { input, output });
  } catch (e) {
    // The model went away (Reset) while the decode waited: say so, no error.
    if (!page.hasModel) setMessage('The model was reset: press Start to train a new one, then decode.', 'note');
    else throw e;
  } finally {
    ui.decodeBtn.disabled = false;
  }
}

function showExamples(results: readonly Decoded[]): void {
  ui.examples.textContent = '';
  for (const r of results) {
    const tr = el('tr');
    const ok = r.decoded === r.expected;
    const dec = el('td', { class: 'mono' });
    dec.append(marked(r.expected, r.decoded));
    tr.append(el('td', { class: 'mono' }, r.input), el('td', { class: 'mono' }, r.expected), dec, el('td', { class: ok ? 'ok' : 'bad' }, ok ? '✓' : '✗'));
    ui.examples.append(tr);
  }
}

runDemo({
  id: 'seq2seq',
  title: 'Encoder-decoder: sequence to sequence',
  intro: `
    <p>Some tasks map one sequence to another of a different length: a sentence to its translation, a question to an answer.
    Here the sequences are digit strings, and the task is to <b>reverse</b> a string (12345 → 54321) or to <b>add</b> two numbers (123+45 → 168).</p>
    <p>The <b>encoder</b>, a recurrent network (LSTM or GRU), reads the input one character at a time; all it passes on is its final
    state (h, and c for an LSTM): a fixed-size summary of the whole input. That state is the initial state of the <b>decoder</b>, a second
    recurrent network that writes the output one digit at a time: at each step it reads the previous digit and emits scores
    for the next one, until it emits STOP. In <b>training</b> the decoder is fed the true previous digit (<i>teacher forcing</i>), so every position
    learns at once from one cross-entropy loss. At <b>test</b> time there is no true answer: <i>greedy decoding</i> feeds back the
    decoder's own most likely digit, one step (one small GPU pass and one read-back) at a time.</p>
    <p>The accuracy curve is measured that way on ${HELD_OUT} fixed held-out inputs that training never sees: <i>exact</i> counts whole answers,
    <i>per character</i> counts matching positions (a missing or extra digit counts as wrong). Type your own input below to see what the model writes.</p>
    <p>Reversal is learned in a few hundred steps: the state only has to remember the digits. Addition takes thousands: the first digit
    of the sum depends on every digit of both numbers (through the carries), so the encoder's state must hold the whole sum before
    the decoder writes anything.</p>`,
  controls: [
    { key: 'task', label: 'task', kind: 'select', value: 'reverse', options: Object.keys(TASKS), title: 'reverse: 3–8 digits; add: two numbers of 1–3 digits' },
    { key: 'cell', label: 'cell', kind: 'select', value: 'lstm', options: ['lstm', 'gru'] },
    hiddenControl(128, [32, 64, 128, 256]),
    lrControl(0.01),
    clipControl(5),
    { key: 'batch', label: 'batch', kind: 'select', value: 32, options: [16, 32, 64] },
  ],
  lossSeries: [{ label: 'cross-entropy per output token', color: '#1f6feb' }],
  // Each view decodes the held-out set step by step (a read-back per step): not too often.
  viewEveryMs: 3000,

  setup(page) {
    const accBox = page.panel('Held-out accuracy', {
      help: `Greedy decoding of ${HELD_OUT} fixed held-out inputs, refreshed every few seconds while training.`,
    });
    const plot = new LinePlot(accBox, {
      title: 'Accuracy (greedy decoding)',
      xLabel: 'step',
      yLabel: 'accuracy',
      series: [
        { label: 'exact match', color: '#1a7f37' },
        { label: 'per character', color: '#8250df' },
      ],
      height: 220,
    });
    const accLine = el('div', { class: 'numbers s2s-acc' }, 'No evaluation yet: press Start.');
    accBox.append(accLine);

    // One panel beside the accuracy plot: the user's own input, then held-out examples.
    const box = page.panel('Decode', {
      help: 'Type an input and press Decode: the encoder reads it, the decoder writes its answer greedily. Decoded digits that match the expected answer are green, wrong or missing ones red.',
    });
    const form = el('form', { class: 's2s-form', autocomplete: 'off' });
    const input = el('input', { type: 'text', id: 's2s-input', spellcheck: 'false', 'aria-label': 'input to decode' });
    const decodeBtn = el('button', { type: 'submit', id: 's2s-decode' }, 'Decode');
    form.append(input, decodeBtn);
    const message = el('div', { id: 's2s-message', class: 's2s-message', role: 'status' });
    const result = el('div', { id: 's2s-result', class: 's2s-result' });
    const table = el('table', { class: 's2s-examples' });
    const cap = el('h3', { class: 's2s-h3' }, `Held-out examples (the first ${SHOWN}, at the last evaluation)`);
    const head = el('thead');
    const hr = el('tr');
    for (const h of ['input', 'expected', 'decoded', '']) hr.append(el('th', {}, h));
    head.append(hr);
    const examples = el('tbody');
    table.append(head, examples);
    box.append(form, message, result, cap, table);

    ui = { plot, accLine, examples, input, decodeBtn, message, result };
    input.value = activeTask(page).sample;
    showHint(page);
    form.onsubmit = (e) => {
      e.preventDefault();
      decodeUserInput(page).catch((err: unknown) => {
        setMessage(`Decoding failed: ${err instanceof Error ? err.message : String(err)}`, 'invalid');
        console.error(err);
      });
    };
    // Before a model exists, the hint follows the task selector (the shell re-renders its controls, so listen on the document).
    document.addEventListener('change', (e) => {
      if ((e.target as HTMLElement | null)?.getAttribute('name') === 'task' && !current) showHint(page);
    });
  },

  job: seq2seqJob,
  worker: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }),
  built(page) {
    const task = taskNamed(page.values.task);
    current = { task };
    ui.plot.clear();
    ui.examples.textContent = '';
    ui.result.textContent = '';
    ui.accLine.textContent = 'Training: the first evaluation comes after a few seconds.';
    if (task.validate(ui.input.value.trim()) !== null) ui.input.value = task.sample;
    showHint(page);
  },
  reset(page) {
    current = null;
    ui.plot.clear();
    ui.examples.textContent = '';
    ui.result.textContent = '';
    ui.accLine.textContent = 'No evaluation yet: press Start.';
    showHint(page);
  },
  show(page, view, step) {
    const ev = view as Seq2seqView;
    if (!ev) return;
    ui.plot.push(step, [ev.exact, ev.perChar]);
    ui.accLine.textContent = `step ${step}: exact ${pct(ev.exact)} · per character ${pct(ev.perChar)} (${ev.results.length} held-out inputs)`;
    const shown = ev.results.slice(0, SHOWN);
    showExamples(shown);
    page.setOutput('accuracy', { exact: ev.exact, perChar: ev.perChar });
    page.setOutput('examples', shown.map(({ input, expected, decoded }) => ({ input, expected, decoded })));
  },
});
