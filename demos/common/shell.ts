/**
 * The frame every demo page shares: header and explanation, the adapter in
 * use, start / pause / reset, hyperparameter controls, a live loss plot,
 * steps/s and ms/step, a clear message when WebGPU is missing, errors shown
 * on the page (and on the console, where the tests see them).
 *
 * A page describes itself with a `DemoSpec`: its controls, `setup` (once,
 * to build its own panels), `job` (src/worker.ts's TrainingSetup: the model,
 * its training chunks, its views and requests, for the current values) and
 * `worker` (a Dedicated Worker running `serveTraining(job)`). The job runs
 * in the worker and the page only draws what it posts back (`show`, `built`);
 * where the worker has no WebGPU, or with `?worker=0`, the same job runs on
 * the main thread through `LocalTraining` (chunks of ~200 ms, the page free
 * in between), and the page says which beside the adapter (#trains-in).
 *
 * For tests (and links): any control can be set from the query string
 * (`?hidden=32&lr=0.01`), and `?test=N` starts training at once, stops after N
 * steps, refreshes the outputs and sets `window.__done`. What the page did is
 * in `window.__demo` (status, losses, outputs, ms/step) and in data-
 * attributes on <body> (data-status, data-step, data-first-loss, data-last-loss,
 * data-trains-in: worker or main).
 */
import { createRuntime, type Runtime } from '../../src/runtime.js';
import { downloadCheckpoint } from '../../src/train/checkpoint.js';
import { LocalTraining, TrainingWorker, WorkerUnavailable, type TrainingClient, type TrainingJob, type TrainingSetup } from '../../src/worker.js';
import { LinePlot, type SeriesSpec } from './plot.js';
import './style.css';

export type ControlValue = number | string | boolean;

export interface Control {
  key: string;
  label: string;
  kind: 'number' | 'select' | 'range' | 'checkbox' | 'textarea';
  value: ControlValue;
  options?: (number | string)[];
  min?: number;
  max?: number;
  step?: number | 'any';
  /** Takes effect while training (learning rate, clipping); otherwise at the next reset. */
  live?: boolean;
  /** Shown after the label (a range's value, units). */
  format?: (v: ControlValue) => string;
  title?: string;
}

export type Values = Record<string, ControlValue>;

export const hiddenControl = (value: number, options = [16, 32, 64, 128, 256]): Control => ({
  key: 'hidden',
  label: 'hidden size',
  kind: 'select',
  value,
  options,
});
export const lrControl = (value: number): Control => ({ key: 'lr', label: 'learning rate', kind: 'number', value, min: 1e-5, max: 10, step: 'any', live: true });
export const clipControl = (value: number): Control => ({
  key: 'clip',
  label: 'clip (global norm, 0 = off)',
  kind: 'number',
  value,
  min: 0,
  max: 1e6,
  step: 'any',
  live: true,
});

/** One training step's losses, one per loss series (read from the GPU). */
export interface LossPoint {
  step: number;
  loss: number[];
}

/** What a page's job is built from (posted to its worker). */
export interface JobConfig {
  values: Values;
  /** `?test=N`: pages may pick smaller sizes. */
  testSteps: number | null;
}

/** A page's training job (src/worker.ts): built in the page's worker, or on the main thread where the worker has no WebGPU. */
export type DemoJob = TrainingJob;
export type DemoJobSetup = TrainingSetup<JobConfig>;

export interface DemoSpec {
  id: string;
  title: string;
  /** HTML: what the page shows and how to read it. */
  intro: string;
  controls: Control[];
  /** Loss series (default: one, 'training loss'); `train` returns one value per series. */
  lossSeries?: SeriesSpec[];
  logLoss?: boolean;
  /** Minimum milliseconds between two `view` calls while training (default 1500). */
  viewEveryMs?: number;
  /** Builds the page's own panels, once. */
  setup(page: DemoPage): void | Promise<void>;
  /** The page's job for the current values (after a reset): the same function runs in the worker and in the fallback. */
  job: DemoJobSetup;
  /** The page's worker (running `serveTraining(job)`); without one the page trains on the main thread. */
  worker?: () => Worker;
  /** A job was built: what its `info` says (before training starts). */
  built?(page: DemoPage, info: unknown): void;
  /** The job was freed (Reset): the page clears what it drew of it. */
  reset?(page: DemoPage): void;
  /** Draws a view the job computed (after `step` steps). */
  show?(page: DemoPage, view: unknown, step: number): void;
  /** Makes the Download button: the checkpoint's file name. */
  checkpointName?(step: number): string;
  /** Live controls after which a paused page asks its job for a new view. */
  refreshOn?: string[];
}

type Status = 'loading' | 'ready' | 'training' | 'paused' | 'done' | 'error' | 'no-webgpu';

/** What tests and curious users can read: `window.__demo`. */
export interface DemoState {
  id: string;
  status: Status;
  step: number;
  losses: LossPoint[];
  msPerStep: number | null;
  stepsPerSecond: number | null;
  adapter: string;
  /** Page-specific outputs (generated text, forecast, decoded string...). */
  output: Record<string, unknown>;
  errors: string[];
  /** The longest main-thread task seen since the page loaded (ms; Long Tasks API, where the browser has it). */
  longestTaskMs: number;
  /** Main-thread tasks over 50 ms seen while training, from the first progress report on (ms each). */
  longTasksWhileTraining: number[];
  /** The same, from 2 s after the first progress report on (the first draws of each panel and plot pay once for fonts, canvases, plot set-up). */
  longTasksAfterWarmUp: number[];
  /** Every main-thread task over 50 ms: when (ms since load), how long, and the page's status then. */
  longTasks: { at: number; ms: number; status: string }[];
  /** When the first progress report came (ms since load). */
  firstProgressAt: number | null;
  /** Steps per second over every chunk but the first of a job (the first compiles the kernels): training alone, views left out. */
  steadyStepsPerSecond: number | null;
  /** Where the model trains: a Dedicated Worker, or the main thread (and why not a worker). */
  trainsIn: 'worker' | 'main' | null;
  fallbackReason?: string;
}

declare global {
  interface Window {
    __demo?: DemoState;
    /** The page object itself, for debugging from the console (and the tests). */
    __demoPage?: DemoPage;
    __done?: boolean;
    __results?: DemoState;
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

export class DemoPage {
  /** The main thread's runtime: only in the fallback (in worker mode the worker owns the device). */
  rt: Runtime | null = null;
  /** The training loop: the page's worker, or the main thread's. */
  client: TrainingClient | null = null;
  readonly values: Values = {};
  readonly state: DemoState;
  readonly main: HTMLElement;
  /** Set while the page trains in test mode (`?test=N`): pages may pick smaller sizes. */
  readonly testSteps: number | null;
  private readonly statusEl: HTMLElement;
  private readonly statsEl: HTMLElement;
  private readonly errorEl: HTMLElement;
  private readonly buttons: Record<'start' | 'pause' | 'reset' | 'download', HTMLButtonElement>;
  /** The bytes of the last checkpoint downloaded (for tests and the console). */
  lastCheckpoint: Uint8Array | null = null;
  private readonly controlsEl: HTMLElement;
  private lossPlot!: LinePlot;
  /** A job is built (after Start, until Reset). */
  private built = false;
  private running = false;
  private building: Promise<void> | null = null;
  private dirty = false;
  /** performance.now() of the first progress report while training (null: none yet). */
  private trainingSince: number | null = null;
  private steady = { ms: 0, steps: 0 };

  constructor(readonly spec: DemoSpec) {
    const q = new URLSearchParams(location.search);
    const t = q.get('test');
    this.testSteps = t !== null && Number(t) > 0 ? Math.floor(Number(t)) : null;
    for (const c of spec.controls) this.values[c.key] = fromQuery(c, q.get(c.key));
    this.state = { id: spec.id, status: 'loading', step: 0, losses: [], msPerStep: null, stepsPerSecond: null, adapter: '', output: {}, errors: [], longestTaskMs: 0, longTasksWhileTraining: [], longTasksAfterWarmUp: [], longTasks: [], firstProgressAt: null, steadyStepsPerSecond: null, trainsIn: null };
    window.__demo = this.state;
    window.__demoPage = this;
    // How long the page ever stopped responding (training must yield between chunks).
    if (PerformanceObserver.supportedEntryTypes?.includes('longtask')) {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          this.state.longestTaskMs = Math.max(this.state.longestTaskMs, e.duration);
          this.state.longTasks.push({ at: Math.round(e.startTime), ms: Math.round(e.duration), status: this.state.status });
          if (this.state.status === 'training' && this.trainingSince !== null && e.startTime >= this.trainingSince) this.state.longTasksWhileTraining.push(Math.round(e.duration));
          if (this.state.status === 'training' && this.trainingSince !== null && e.startTime >= this.trainingSince + 2000) this.state.longTasksAfterWarmUp.push(Math.round(e.duration));
        }
      }).observe({ type: 'longtask', buffered: true });
    }

    document.title = `${spec.title} · webgpu-rnn`;
    const header = el('header');
    header.append(el('a', { href: '../', class: 'home' }, 'webgpu-rnn demos'), el('h1', {}, spec.title));
    const intro = el('div', { class: 'intro' });
    intro.innerHTML = spec.intro;
    this.statusEl = el('div', { class: 'adapter' }, 'Looking for a WebGPU adapter...');
    this.errorEl = el('div', { class: 'error', hidden: '' });
    const bar = el('div', { class: 'bar' });
    this.buttons = {
      start: el('button', { id: 'start', disabled: '' }, 'Start'),
      pause: el('button', { id: 'pause', disabled: '' }, 'Pause'),
      reset: el('button', { id: 'reset', disabled: '' }, 'Reset'),
      download: el('button', { id: 'download', disabled: '', hidden: '', title: 'The trained weights as safetensors, under PyTorch names' }, 'Download checkpoint'),
    };
    this.buttons.download.onclick = () => void this.download();
    this.buttons.start.onclick = () => this.start();
    this.buttons.pause.onclick = () => void this.pause();
    this.buttons.reset.onclick = () => void this.reset();
    this.statsEl = el('div', { class: 'stats' });
    bar.append(this.buttons.start, this.buttons.pause, this.buttons.reset, this.buttons.download, this.statsEl);
    this.controlsEl = el('form', { class: 'controls' });
    this.controlsEl.onsubmit = (e) => e.preventDefault();
    this.main = el('main');
    const lossBox = el('section', { class: 'panel wide' });
    document.body.append(header, intro, this.statusEl, this.errorEl, bar, this.controlsEl, lossBox, this.main);
    this.renderControls();
    this.lossPlot = new LinePlot(lossBox, {
      title: 'Training loss',
      xLabel: 'step',
      yLabel: 'loss',
      series: spec.lossSeries ?? [{ label: 'training loss', color: '#1f6feb' }],
      logY: spec.logLoss,
    });
    this.renderStats();
  }

  /** A titled panel in the page's main area (`wide`: the whole row). */
  panel(title: string, o: { wide?: boolean; help?: string } = {}): HTMLElement {
    const box = el('section', { class: o.wide ? 'panel wide' : 'panel' });
    box.append(el('h2', {}, title));
    if (o.help) {
      const p = el('p', { class: 'help' });
      p.innerHTML = o.help;
      box.append(p);
    }
    this.main.append(box);
    return box;
  }

  /** Records a page output for tests and shows nothing by itself. */
  setOutput(key: string, value: unknown): void {
    this.state.output[key] = value;
  }

  async init(): Promise<void> {
    try {
      if (!('gpu' in navigator) || !navigator.gpu) throw new NoWebGPU('navigator.gpu is missing');
      const q = new URLSearchParams(location.search);
      let why = this.spec.worker ? '' : 'this page has no worker';
      if (this.spec.worker && q.get('worker') === '0') why = 'asked for by ?worker=0';
      if (!why) {
        const w = new TrainingWorker(this.spec.worker!());
        this.listen(w);
        try {
          const info = await w.ready;
          this.client = w;
          this.state.trainsIn = 'worker';
          this.showAdapter(info.adapter, info.isCpu, 'trains in a Web Worker: this page only draws');
        } catch (e) {
          w.terminate();
          if (!(e instanceof WorkerUnavailable)) throw e;
          why = `no WebGPU in a worker here: ${e.message}`;
        }
      }
      if (!this.client) {
        try {
          this.rt = await createRuntime({ quiet: true });
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          throw new NoWebGPU(/no adapter/i.test(msg) ? 'navigator.gpu exists, but requestAdapter() found no adapter: WebGPU is turned off or not supported here' : msg);
        }
        const rt = this.rt;
        rt.device.addEventListener('uncapturederror', (ev) => this.fail(new Error(`WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`)));
        void rt.device.lost.then((info) => {
          if (info.reason !== 'destroyed') this.fail(new Error(`WebGPU device lost: ${info.message}`));
        });
        const local = new LocalTraining(rt, this.spec.job as TrainingSetup);
        this.listen(local);
        this.client = local;
        this.state.trainsIn = 'main';
        this.state.fallbackReason = why;
        const i = rt.adapterInfo;
        this.showAdapter([i.vendor, i.architecture, i.description].filter(Boolean).join(' ') || 'unnamed adapter', rt.isCpu, `trains on the main thread (${why}): the page may stutter while it trains`);
      }
      document.body.dataset.trainsIn = this.state.trainsIn!;
      await this.spec.setup(this);
      this.setStatus('ready');
      if (this.testSteps !== null) this.start();
    } catch (e) {
      if (e instanceof NoWebGPU) this.noWebGPU(e.message);
      else this.fail(e);
    }
  }

  private showAdapter(adapter: string, isCpu: boolean, where: string): void {
    this.state.adapter = adapter;
    this.statusEl.textContent = `Adapter: ${adapter}`;
    if (isCpu) {
      this.statusEl.append(el('span', { class: 'cpu' }, ' (a CPU implementation of WebGPU: expect CPU speeds; on a GPU the same page runs far faster)'));
    }
    this.statusEl.append(el('span', { class: 'where', id: 'trains-in' }, ` · ${where}`));
  }

  /** The loop's messages: progress and views drawn here, its states mirrored. */
  private listen(c: TrainingClient): void {
    c.onError = (msg) => this.fail(new Error(msg));
    c.onProgress = (p) => {
      if (!this.built) return;
      if (this.trainingSince === null) this.state.firstProgressAt = Math.round((this.trainingSince = performance.now()));
      // Every chunk after the job's first (each chunk reports at least its last step's loss).
      if (this.state.losses.length > 0) {
        const n = p.step - this.state.step;
        this.steady.ms += n * p.msPerStep;
        this.steady.steps += n;
        this.state.steadyStepsPerSecond = this.steady.steps / (this.steady.ms / 1000);
      }
      this.state.step = p.step;
      this.state.msPerStep = p.msPerStep;
      this.state.stepsPerSecond = p.stepsPerSecond;
      for (const pt of p.points) {
        if (!pt.loss.every(Number.isFinite) && !this.spec.lossSeries) {
          void c.pause();
          this.fail(new Error(`training diverged: the loss at step ${pt.step} is ${pt.loss[0]}`));
          return;
        }
        this.state.losses.push(pt);
        this.lossPlot.push(pt.step, pt.loss);
      }
      this.renderStats();
    };
    c.onView = (value, step) => {
      if (!this.built) return;
      try {
        this.spec.show?.(this, value, step);
      } catch (e) {
        this.fail(e);
      }
    };
    c.onState = (st) => {
      if (!this.built || this.state.status === 'error') return;
      if (st === 'done') {
        this.running = false;
        this.setStatus('done');
        window.__results = JSON.parse(JSON.stringify(this.state)) as DemoState;
        window.__done = true;
      } else if (st === 'paused') {
        this.running = false;
        this.setStatus('paused');
      }
    };
  }

  /** Asks the job for something (a decode, a probe) between chunks. */
  request<T = unknown>(name: string, args?: unknown): Promise<T> {
    if (!this.client || !this.built) return Promise.reject(new Error('no model yet: press Start'));
    return this.client.request<T>(name, args);
  }

  /** Asks the job for a new view (it arrives through `spec.show`). */
  refresh(): void {
    if (this.built) this.client?.view();
  }

  /** Whether a job is built (Start pressed since the last reset). */
  get hasModel(): boolean {
    return this.built;
  }

  start(): void {
    if (this.running || !this.client || this.state.status === 'error' || this.state.status === 'no-webgpu') return;
    this.running = true;
    this.setStatus('training');
    const c = this.client;
    this.building = (async () => {
      if (!this.built) {
        this.statsEl.textContent = 'building the model; the first step also compiles its kernels and takes longest...';
        const info = await c.build({ values: { ...this.values }, testSteps: this.testSteps } satisfies JobConfig);
        this.built = true;
        this.spec.built?.(this, info);
        c.set({ ...this.values });
        this.setStatus(this.state.status);
        c.start({ steps: this.testSteps ?? undefined, viewEveryMs: this.spec.viewEveryMs ?? 1500 });
      } else c.resume();
    })().catch((e: unknown) => this.fail(e));
  }

  async pause(): Promise<void> {
    await this.building;
    if (!this.running || !this.client) return;
    await this.client.pause();
    this.running = false;
    if (this.state.status === 'training') this.setStatus('paused');
  }

  async reset(): Promise<void> {
    await this.pause();
    const had = this.built;
    this.built = false;
    if (had) {
      await this.client?.abort();
      this.spec.reset?.(this);
    }
    this.state.step = 0;
    this.state.losses = [];
    this.state.msPerStep = this.state.stepsPerSecond = this.state.steadyStepsPerSecond = null;
    this.steady = { ms: 0, steps: 0 };
    this.lossPlot.clear();
    this.dirty = false;
    this.renderControls();
    this.renderStats();
    if (this.state.status !== 'error') this.setStatus('ready');
  }

  private renderControls(): void {
    this.controlsEl.textContent = '';
    for (const c of this.spec.controls) {
      const label = el('label', { title: c.title ?? '' });
      const name = el('span', {}, c.label);
      const shown = el('span', { class: 'value' }, c.format ? c.format(this.values[c.key]!) : '');
      let input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement;
      if (c.kind === 'select') {
        const sel = el('select', { name: c.key });
        for (const o of c.options ?? []) sel.append(el('option', { value: String(o) }, String(o)));
        sel.value = String(this.values[c.key]);
        input = sel;
      } else if (c.kind === 'textarea') {
        input = el('textarea', { name: c.key, rows: '4' });
        input.value = String(this.values[c.key]);
        label.classList.add('wide');
      } else {
        const inp = el('input', { name: c.key, type: c.kind });
        if (c.min !== undefined) inp.min = String(c.min);
        if (c.max !== undefined) inp.max = String(c.max);
        if (c.step !== undefined) inp.step = String(c.step);
        if (c.kind === 'checkbox') inp.checked = Boolean(this.values[c.key]);
        else inp.value = String(this.values[c.key]);
        input = inp;
      }
      input.addEventListener(c.kind === 'range' ? 'input' : 'change', () => {
        const v = readInput(c, input);
        if (v === null) {
          input.classList.add('invalid');
          return;
        }
        input.classList.remove('invalid');
        this.values[c.key] = v;
        if (c.format) shown.textContent = c.format(v);
        if (c.live) {
          if (this.built) {
            this.client?.set({ ...this.values });
            if (!this.running && this.spec.refreshOn?.includes(c.key)) this.refresh();
          }
        } else if (this.built && !this.dirty) {
          this.dirty = true;
          this.renderStats();
        }
      });
      label.append(name, input, shown);
      this.controlsEl.append(label);
    }
  }

  private renderStats(): void {
    const s = this.state;
    const last = s.losses[s.losses.length - 1];
    const parts = [
      `step ${s.step}`,
      `loss ${last ? last.loss.map((v) => fmt(v)).join(' / ') : '-'}`,
      `${s.stepsPerSecond ? s.stepsPerSecond.toFixed(2) : '-'} steps/s`,
      `${s.msPerStep ? s.msPerStep.toFixed(1) : '-'} ms/step`,
    ];
    this.statsEl.textContent = parts.join(' · ');
    if (this.dirty) this.statsEl.append(el('span', { class: 'hint' }, ' · changed settings apply at reset'));
    document.body.dataset.step = String(s.step);
    if (s.losses.length) {
      document.body.dataset.firstLoss = String(s.losses[0]!.loss[0]);
      document.body.dataset.lastLoss = String(last!.loss[0]);
    }
  }

  private setStatus(st: Status): void {
    this.state.status = st;
    document.body.dataset.status = st;
    const ready = st !== 'loading' && st !== 'error' && st !== 'no-webgpu';
    this.buttons.start.disabled = !ready || st === 'training';
    this.buttons.pause.disabled = st !== 'training';
    this.buttons.reset.disabled = !ready;
    const canSave = !!this.spec.checkpointName && this.built;
    this.buttons.download.hidden = !canSave;
    this.buttons.download.disabled = !canSave || !ready || st === 'training';
  }

  /** Saves the session's checkpoint through the browser's download (paused or done). */
  private async download(): Promise<void> {
    if (!this.spec.checkpointName || !this.built || this.running || !this.client) return;
    try {
      const bytes = await this.client.checkpoint();
      const filename = this.spec.checkpointName(this.state.step);
      this.lastCheckpoint = bytes;
      downloadCheckpoint(bytes, filename);
      this.setOutput('download', { filename, bytes: bytes.length, step: this.state.step });
    } catch (e) {
      this.fail(e);
    }
  }

  private noWebGPU(why: string): void {
    this.setStatus('no-webgpu');
    this.statusEl.textContent = '';
    const box = el('div', { class: 'nowebgpu', id: 'no-webgpu' });
    box.innerHTML =
      '<strong>This demo needs WebGPU, and this browser does not offer it.</strong> ' +
      'Use a recent Chrome or Edge (113+), Safari 26+, or Firefox 141+ on Windows; on Linux, Chrome with ' +
      '<code>--enable-unsafe-webgpu</code> or <code>chrome://flags/#enable-unsafe-webgpu</code>. ';
    box.append(el('span', { class: 'why' }, `(${why})`));
    this.statusEl.append(box);
    window.__results = JSON.parse(JSON.stringify(this.state)) as DemoState;
    window.__done = true;
  }

  private fail(e: unknown): void {
    this.running = false;
    const msg = e instanceof Error ? e.message : String(e);
    this.state.errors.push(msg);
    this.errorEl.hidden = false;
    this.errorEl.textContent = `Error: ${msg}`;
    this.setStatus('error');
    console.error(e);
    window.__results = JSON.parse(JSON.stringify(this.state)) as DemoState;
    window.__done = true;
  }
}

class NoWebGPU extends Error {}

function fromQuery(c: Control, q: string | null): ControlValue {
  if (q === null) return c.value;
  if (c.kind === 'checkbox') return q === '1' || q === 'true';
  if (typeof c.value === 'number') {
    const v = Number(q);
    return Number.isFinite(v) ? v : c.value;
  }
  return q;
}

function readInput(c: Control, input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement): ControlValue | null {
  if (c.kind === 'checkbox') return (input as HTMLInputElement).checked;
  if (typeof c.value === 'number') {
    const v = Number(input.value);
    if (!Number.isFinite(v) || (c.min !== undefined && v < c.min) || (c.max !== undefined && v > c.max)) return null;
    return v;
  }
  return input.value;
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : v.toPrecision(4);
}

/** Builds the page and starts it: `runDemo(spec)` is the whole of a page's entry point after its spec. */
export function runDemo(spec: DemoSpec): DemoPage {
  const page = new DemoPage(spec);
  void page.init();
  return page;
}
