/**
 * WaveNet page: the dilated causal convolution stack drawn with its receptive
 * field, trained on a synthesised melody (mu-law classes, softmax
 * cross-entropy), then continued sample by sample with the library's fast
 * generation (per-layer queues on the GPU) and played through Web Audio.
 */
import { receptiveField } from '../../src/nn/wavenet.js';
import { LinePlot } from '../common/plot.js';
import { clipControl, fmt, hiddenControl, lrControl, runDemo, type DemoPage } from '../common/shell.js';
import { Player, toAudioBuffer } from './audio.js';
import { StackDiagram } from './diagram.js';
import { configOf, wavenetJob, type WaveNetInfo, type WaveNetView } from './job.js';
import { stats } from './waveform.js';
import './wavenet.css';

let diagram: StackDiagram;
let diagramNote: HTMLElement;
let zoomPlot: LinePlot;
let fullPlot: LinePlot;
let genStats: HTMLElement;
let playGen: HTMLButtonElement;
let playTrain: HTMLButtonElement;
let regen: HTMLButtonElement;
const player = new Player();
/** The buffers the Play buttons play (built without an AudioContext). */
const buffers: { generated: AudioBuffer | null; training: AudioBuffer | null } = { generated: null, training: null };
/** The job being trained (set when it is built). */
let info: WaveNetInfo | null = null;

function drawDiagram(page: DemoPage): void {
  const cfg = configOf(page.values);
  const rf = receptiveField(cfg);
  const layerDilations = Array.from({ length: cfg.stacks }, () => cfg.dilations).flat();
  diagram.draw({ layerDilations, stackSize: cfg.dilations.length, kernelSize: cfg.kernelSize, receptiveField: rf, sampleRate: Number(page.values.rate) });
  diagramNote.innerHTML =
    `${cfg.stacks} stack${cfg.stacks > 1 ? 's' : ''} of dilations ${cfg.dilations.join(', ')} (kernel size 2): ` +
    `receptive field = stacks &times; (2 &minus; 1) &times; &Sigma;d + 1 = ${cfg.stacks} &times; ${cfg.dilations.reduce((a, b) => a + b, 0)} + 1 = <b>${rf} samples</b>. ` +
    'Click any output node to see what it depends on.';
  page.setOutput('diagram', { highlightedInputs: diagram.highlightedInputs(), columns: diagram.columns(), layers: layerDilations.length });
}

function button(parent: HTMLElement, id: string, text: string, onClick: () => void): HTMLButtonElement {
  const b = document.createElement('button');
  b.id = id;
  b.type = 'button';
  b.textContent = text;
  b.disabled = true;
  b.onclick = onClick;
  parent.append(b);
  return b;
}

runDemo({
  id: 'wavenet',
  title: 'WaveNet: dilated causal convolutions',
  intro: `
<p><b>WaveNet</b> (van den Oord et al., 2016) models audio one sample at a time: a distribution over the next
sample given all the previous ones. It has no recurrent state; it stacks <b>dilated causal convolutions</b>.
Each layer combines a time step with the one <i>d</i> steps earlier (kernel size 2) and never looks ahead
(causal). Because the dilation doubles from layer to layer (1, 2, 4, 8), each layer doubles the reach, and
the <b>receptive field</b> grows exponentially with depth: 16 samples for one stack of four layers. Training still
runs over all T positions in parallel: one matrix product per tap and layer.</p>
<p>Each layer is a <b>gated unit</b>, z = tanh(W<sub>f</sub> &lowast; h) &odot; &sigma;(W<sub>g</sub> &lowast; h): the
sigmoid gate decides how much of the tanh filter passes. A 1&times;1 convolution of z is added back to the
layer's input (a <b>residual</b> connection, so deep stacks still train). Another 1&times;1 convolution goes to the
<b>skip</b> sum, which collects every layer's output for the head (relu, 1&times;1, relu, 1&times;1: the dashed arcs in
the figure).</p>
<p>The training signal is a short melody synthesised in this page, <b>&mu;-law</b> companded to 256 levels (fine
steps near silence, coarse ones near full scale). Each output is a softmax over those 256 classes, trained with
cross-entropy, as in the paper; guessing uniformly costs ln 256 = 5.55 nats.</p>
<p><b>Fast generation</b>: sampling is sequential, because each new sample becomes the next input. Recomputing
the whole receptive field for every sample would repeat all the work. Instead, every layer keeps a <b>queue</b>
of its last <i>d</i> inputs, so a new sample costs one step of each layer: O(layers), not O(receptive field) (Paine
et al., 2016). Here the queues live on the GPU, and a thousand samples are a few dispatches with one read-back at
the end.</p>`,
  controls: [
    { ...hiddenControl(32, [8, 16, 32, 64]), label: 'channels', title: 'residual and dilation channels (skip channels: twice as many)' },
    { key: 'layers', label: 'layers per stack', kind: 'select', value: 4, options: [2, 3, 4, 5, 6], title: 'dilations 1, 2, 4, ... 2^(layers-1)' },
    { key: 'stacks', label: 'stacks', kind: 'select', value: 2, options: [1, 2, 3, 4] },
    { key: 'classes', label: 'μ-law classes', kind: 'select', value: 256, options: [256, 128, 64] },
    { key: 'rate', label: 'sample rate (Hz)', kind: 'select', value: 4000, options: [4000, 8000] },
    { key: 'batch', label: 'batch', kind: 'select', value: 8, options: [4, 8, 16] },
    { key: 'seqLen', label: 'window T', kind: 'select', value: 512, options: [256, 512, 1024] },
    lrControl(0.01),
    clipControl(1),
    { key: 'temperature', label: 'temperature', kind: 'range', value: 1, min: 0.1, max: 2, step: 0.05, live: true, format: (v) => Number(v).toFixed(2) },
    { key: 'gen', label: 'generated samples', kind: 'select', value: 4000, options: [500, 1000, 2000, 4000, 8000], live: true },
  ],
  lossSeries: [{ label: 'cross-entropy (nats per sample)', color: '#1f6feb' }],
  // Generation on a CPU adapter takes seconds: refresh it less often than the default.
  viewEveryMs: 5000,

  setup(page) {
    const dp = page.panel('The dilated causal convolution stack', {
      wide: true,
      help:
        'Rows: the input samples (bottom), the output of each dilated layer, and the output (top). Every node reads the node ' +
        'below it and the one <i>d</i> steps earlier. <span class="key in">Blue</span>: the input samples that the ' +
        '<span class="key out">red</span> output sees, through the <span class="key cone">highlighted</span> paths; dashed: skip connections.',
    });
    diagram = new StackDiagram(dp);
    diagramNote = document.createElement('p');
    diagramNote.className = 'help';
    dp.append(diagramNote);
    diagram.onSelect = (_t, n) => page.setOutput('diagram', { ...(page.state.output.diagram as object), highlightedInputs: n });
    drawDiagram(page);
    // The figure follows the stack controls at once (the model follows at the next reset).
    document.addEventListener('change', (e) => {
      const name = (e.target as HTMLInputElement | null)?.name;
      if (name === 'layers' || name === 'stacks' || name === 'rate') drawDiagram(page);
    });

    const zp = page.panel('Training waveform vs generated (first 40 ms)', {
      help: 'The network is primed with a stretch of the training melody (grey), then continues on its own (blue). Dashed: what the melody actually did next.',
    });
    zoomPlot = new LinePlot(zp, {
      title: '',
      xLabel: 'time (ms)',
      yLabel: 'amplitude',
      height: 260,
      series: [
        { label: 'prefix (teacher-forced)', color: '#8c959f' },
        { label: 'training waveform', color: '#57606a', dash: true, width: 1.5 },
        { label: 'generated', color: '#1f6feb' },
      ],
    });

    const gp = page.panel('Fast generation', {
      help: 'Sampled from the softmax at the chosen temperature, one sample at a time, with per-layer queues on the GPU; samples per second measured from the call to the read-back.',
    });
    genStats = document.createElement('div');
    genStats.className = 'numbers gen-stats';
    genStats.textContent = 'Start training: the network continues the melody every few seconds.';
    const bar = document.createElement('div');
    bar.className = 'audio-bar';
    playGen = button(bar, 'play-generated', '▶ Play generated', () => void play(page, 'generated'));
    playTrain = button(bar, 'play-training', '▶ Play training clip', () => void play(page, 'training'));
    button(bar, 'stop', '■ Stop', () => player.stop()).disabled = false;
    regen = button(bar, 'generate', 'Generate again', () => {
      if (page.state.status !== 'training' && page.hasModel) page.refresh();
    });
    gp.append(genStats, bar);
    fullPlot = new LinePlot(gp, {
      title: '',
      xLabel: 'time (s)',
      yLabel: 'amplitude',
      height: 200,
      series: [
        { label: 'training waveform', color: '#afb8c1', width: 1 },
        { label: 'generated', color: '#1f6feb', width: 1 },
      ],
    });
  },

  job: wavenetJob,
  worker: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }),
  checkpointName: (step) => `wavenet-step${step}.safetensors`,
  built(page, i) {
    info = i as WaveNetInfo;
    drawDiagram(page);
    page.setOutput('receptiveField', info.receptiveField);
    page.setOutput('sampleRate', info.sampleRate);
  },
  reset() {
    info = null;
    regen.disabled = true;
    player.stop();
  },
  show(page, view) {
    if (info) showGenerated(page, info, view as WaveNetView);
  },
});

/** Draws and records a generated continuation (the job's view), and makes its audio buffers. */
function showGenerated(page: DemoPage, info: WaveNetInfo, v: WaveNetView): void {
  const { gen, truth, pre, P, secs, note, temperature } = v;
  const sr = info.sampleRate;
  const n = gen.length;
  const sps = n / secs;
  const g = stats(gen);
  buffers.generated = toAudioBuffer(gen, sr);
  buffers.training = toAudioBuffer(truth, sr);
  const a = buffers.generated;
  page.setOutput('generated', { length: gen.length, samplesPerSecond: sps, rms: g.rms, min: g.min, max: g.max, temperature, note, prefix: P });
  page.setOutput('audio', { length: a.length, sampleRate: a.sampleRate, duration: a.duration });
  playGen.disabled = playTrain.disabled = regen.disabled = false;

  genStats.innerHTML =
    `${n} samples (${(n / sr).toFixed(2)} s at ${sr} Hz) continuing ${note.toFixed(0)} Hz, temperature ${temperature.toFixed(2)}<br>` +
    `${(secs * 1000).toFixed(0)} ms: <b>${fmt(sps)} samples/s</b> (${(sps / sr).toFixed(2)}&times; real time), ` +
    `${info.layers} layers, a queue each (${info.queued} past activations per channel kept)<br>` +
    `generated RMS ${g.rms.toFixed(3)} (training clip ${stats(truth).rms.toFixed(3)}), range [${g.min.toFixed(2)}, ${g.max.toFixed(2)}]`;

  // Zoomed: the prefix's last 20 ms, then up to 40 ms of truth and generation, in ms from the first generated sample.
  const Z = Math.min(n, Math.round(0.04 * sr));
  const tail = pre.length;
  const xs: number[] = [];
  const pz: (number | null)[] = [];
  const tru: (number | null)[] = [];
  const gz: (number | null)[] = [];
  for (let i = -tail; i < Z; i++) {
    xs.push((i / sr) * 1000);
    pz.push(i < 0 ? pre[tail + i]! : null);
    tru.push(i >= 0 ? truth[i]! : i === -1 ? pre[tail - 1]! : null);
    gz.push(i >= 0 ? gen[i]! : i === -1 ? pre[tail - 1]! : null);
  }
  zoomPlot.set(xs, [pz, tru, gz]);
  fullPlot.set(Array.from({ length: n }, (_, i) => i / sr), [truth, gen]);
}

/** Plays a buffer (a click: the AudioContext may start now) and records what played, for tests. */
async function play(page: DemoPage, which: 'generated' | 'training'): Promise<void> {
  const buf = buffers[which];
  if (!buf) return;
  try {
    const state = await player.play(buf);
    page.setOutput('played', { which, length: buf.length, sampleRate: buf.sampleRate, context: state });
  } catch (e) {
    // No audio output (a headless machine, a blocked device): say so on the console, the page stays usable.
    console.error(e);
  }
}
