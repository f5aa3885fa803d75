/**
 * GRU: time-series forecasting. A one-layer GRU (SequenceToSequence, dense
 * input, one output per step, MSE) learns to predict next month's value from
 * windows of the training part of a monthly series; the last `horizon`
 * months are held out. While it trains the page forecasts the held-out months
 * two ways (recursive: its own predictions fed back; one-step-ahead: the true
 * previous months fed in), states the held-out RMSE in the series' units next
 * to two naive baselines, and draws the reset and update gates over the
 * input window that precedes the held-out part. The model trains and
 * forecasts in the page's worker (job.ts); this file turns the forecasts
 * into levels and errors and draws them.
 */
import { LinePlot } from '../common/plot.js';
import { clipControl, fmt, hiddenControl, lrControl, runDemo, type DemoPage } from '../common/shell.js';
import { rmse, type Prepared, type Series } from './data.js';
import { GateView, gateStats } from './gates.js';
import { gruJob, prepared, type GruView } from './job.js';

/** Months of history drawn before the held-out part. */
const HISTORY = 72;

interface Panels {
  /** Holds the forecast plot, rebuilt when the series (and so the axes) changes. */
  forecastBox: HTMLElement;
  errors: LinePlot;
  summary: HTMLElement;
  gates: GateView;
  gateNote: HTMLElement;
}
let panels: Panels;

/** What the page draws with, for the job being trained (set when it is built). */
let drawing: ((view: GruView, step: number) => void) | null = null;

let forecastPlot: { plot: LinePlot; key: string } | null = null;
/** The forecast plot for this series and split (its axes name the last training month and the units), emptied. */
function forecastPlotFor(series: Series, data: Prepared): LinePlot {
  const lastTrain = series.label(data.trainEnd - 1);
  const key = `${series.name} ${lastTrain}`;
  if (forecastPlot?.key !== key) {
    panels.forecastBox.textContent = '';
    const plot = new LinePlot(panels.forecastBox, {
      title: '',
      // Months relative to the end of the training part (uPlot would print years as "2,019").
      xLabel: `months after ${lastTrain} (the last training month)`,
      yLabel: series.unit,
      height: 300,
      series: [
        { label: 'history', color: '#57606a', width: 1.5 },
        { label: 'truth (held out)', color: '#1d2329', dash: true, width: 1.5 },
        { label: 'recursive forecast', color: '#d1242f', width: 2 },
        { label: 'one-step-ahead', color: '#1f883d', width: 1.5 },
      ],
    });
    forecastPlot = { plot, key };
  }
  forecastPlot.plot.clear();
  return forecastPlot.plot;
}

runDemo({
  id: 'gru',
  title: 'GRU: time-series forecasting',
  intro: `
<p>A <strong>gated recurrent unit</strong> reads a monthly series one value at a time and learns to predict the next
value. The last months of the series are held out: the network never trains on them, and the page forecasts them as it
learns. The real series is the monthly mean CO₂ measured at Mauna Loa Observatory (NOAA, 1980–2020): a rising trend
with a yearly cycle (plants in the northern hemisphere draw CO₂ down each summer). The synthetic one is a trend, a yearly
cycle, a 7.3-month cycle and noise.</p>
<p>A GRU keeps one state vector <i>h</i> and two gates, numbers between 0 and 1 for each unit, recomputed at every step
from the input and the previous state. The <strong>update gate z</strong> chooses between keeping and replacing:
<i>h<sub>t</sub> = z ⊙ h<sub>t−1</sub> + (1 − z) ⊙ n<sub>t</sub></i>; z near 1 keeps the old state (a memory
that lasts many steps), z near 0 takes the new candidate <i>n<sub>t</sub></i>. The <strong>reset gate r</strong> says how
much of the past feeds that candidate: <i>n<sub>t</sub> = tanh(W<sub>in</sub>x<sub>t</sub> + r ⊙ (W<sub>hn</sub>h<sub>t−1</sub>))</i>
(biases left out); r near 0 builds the candidate from the current input alone, a fresh start.</p>
<p><strong>How to read it.</strong> <em>Forecast</em>: the end of the training history, the held-out truth (dashed), the
<em>recursive</em> forecast (each predicted month is fed back as the next input: a true multi-step forecast, from the
training part only) and the <em>one-step-ahead</em> forecast (each month predicted from the true months before it). By
default the network sees month-to-month <em>changes</em> (normalised with the training part's mean and spread), so the
rising trend does not push the inputs out of the range it trained on; <em>levels</em> shows what happens without that.
<em>Held-out error</em>: the RMSE, in the series' units, against two baselines: <em>seasonal naive</em> (last observed
year repeated) and <em>last value</em>. <em>Gates</em>: r and z for each unit over the input window before the held-out
part.</p>`,
  controls: [
    { key: 'series', label: 'series', kind: 'select', value: 'co2', options: ['co2', 'synthetic'], title: 'co2: NOAA Mauna Loa monthly mean CO₂ 1980–2020; synthetic: trend + two cycles + noise (seeded)' },
    { key: 'target', label: 'network sees', kind: 'select', value: 'changes', options: ['changes', 'levels'], title: 'month-to-month changes (a forecast adds them up) or the values themselves' },
    { key: 'horizon', label: 'held out / horizon (months)', kind: 'select', value: 24, options: [12, 24, 36] },
    { key: 'window', label: 'window length', kind: 'select', value: 24, options: [12, 24, 36, 48], title: 'timesteps per training window (and the input window of the forecast)' },
    hiddenControl(32, [8, 16, 32, 64, 128]),
    { key: 'batch', label: 'batch', kind: 'select', value: 16, options: [8, 16, 32, 64] },
    lrControl(0.01),
    clipControl(1),
  ],
  viewEveryMs: 2500,

  setup(page: DemoPage) {
    const f = page.panel('Forecast of the held-out months', {
      wide: true,
      help: 'History (training part, solid), held-out truth (dashed), the recursive forecast from the end of the training part, and the one-step-ahead forecast.',
    });
    const summary = document.createElement('p');
    summary.className = 'numbers';
    summary.id = 'gru-summary';
    summary.textContent = 'Press Start: the forecast appears after the first training steps.';
    f.append(summary);
    const forecastBox = document.createElement('div');
    f.append(forecastBox);
    const e = page.panel('Held-out error', { help: 'RMSE over the held-out months (original units) as training goes on; the baselines do not learn.' });
    const errors = new LinePlot(e, {
      title: '',
      xLabel: 'step',
      yLabel: 'RMSE',
      series: [
        { label: 'recursive', color: '#d1242f' },
        { label: 'one-step', color: '#1f883d' },
        { label: 'seasonal naive', color: '#8250df', dash: true },
        { label: 'last value', color: '#9a6700', dash: true },
      ],
    });
    const g = page.panel('Reset and update gates', {
      help: 'One forward pass over the input window just before the held-out months. Rows: hidden units (sorted by mean z); columns: months; colour: gate value.',
    });
    const gates = new GateView(g);
    const gateNote = document.createElement('p');
    gateNote.className = 'help';
    g.append(gateNote);
    panels = { forecastBox, errors, summary, gates, gateNote };
  },

  job: gruJob,
  worker: () => new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' }),
  checkpointName: (step) => `gru-forecast-step${step}.safetensors`,
  show: (_page, view, step) => drawing?.(view as GruView, step),

  built(page: DemoPage) {
    const v = page.values;
    const { series, data, H, T } = prepared(v);
    const truth = data.truth();
    const seasonal = data.seasonalNaive();
    const naiveRmse = rmse(seasonal, truth);
    const lastRmse = rmse(data.lastValue(), truth);
    const h0 = Math.max(0, data.trainEnd - HISTORY);
    // x: months after the last training month (history <= 0, held out 1..H).
    const xs = series.values.slice(h0).map((_, i) => h0 + i - (data.trainEnd - 1));
    const forecastPlot = forecastPlotFor(series, data);
    panels.errors.clear();

    drawing = (rec: GruView, step: number) => {
      const one = rec.one;
      const forecast = data.recursiveLevels(rec.outs);
      const oneStep = data.oneStepLevels(one.subarray(T - 1));
      const e = rmse(forecast, truth);
      const eOne = rmse(oneStep, truth);

      // History up to the last training month; truth and forecasts start there so the lines join.
      const nHist = data.trainEnd - h0;
      const last = series.values[data.trainEnd - 1]!;
      const after = (vals: number[]) => xs.map((_, i) => (i === nHist - 1 ? last : i >= nHist ? vals[i - nHist]! : null));
      const hist = xs.map((_, i) => (i < nHist ? series.values[h0 + i]! : null));
      forecastPlot.set(xs, [hist, after(truth), after(forecast), after(oneStep)]);
      panels.errors.push(step, [e, eOne, naiveRmse, lastRmse]);

      const zi = rec.gates.names.indexOf('update');
      const ri = rec.gates.names.indexOf('reset');
      const zs = gateStats(rec.gates, zi);
      const rs = gateStats(rec.gates, ri);
      const win = series.values.slice(data.trainEnd - T, data.trainEnd);
      panels.gates.draw(rec.gates, ['reset', 'update'], win, series.label(data.trainEnd - T), series.label(data.trainEnd - 1), series.unit);
      panels.gateNote.textContent =
        `After ${step} steps: mean r ${rs.mean.toFixed(2)} (${rs.min.toFixed(2)}–${rs.max.toFixed(2)}), ` +
        `mean z ${zs.mean.toFixed(2)} (${zs.min.toFixed(2)}–${zs.max.toFixed(2)}). ` +
        'Rows that stay bright in z keep their state across the window (slow units); dark z rows follow the input month by month.';

      const u = series.unit;
      const better = e < naiveRmse ? 'better than' : 'not yet better than';
      panels.summary.innerHTML =
        `<strong>${series.name}</strong>, held out: ${series.label(data.trainEnd)} – ${series.label(series.values.length - 1)} (${H} months). ` +
        `Held-out RMSE after ${step} steps: <strong>recursive ${fmt(e)} ${u}</strong> (${better} seasonal naive ${fmt(naiveRmse)} ${u}), ` +
        `one-step-ahead ${fmt(eOne)} ${u}, last value ${fmt(lastRmse)} ${u}.`;

      page.setOutput('forecast', forecast);
      page.setOutput('oneStep', oneStep);
      page.setOutput('truth', truth);
      page.setOutput('rmse', e);
      page.setOutput('oneStepRmse', eOne);
      page.setOutput('naiveRmse', naiveRmse);
      page.setOutput('lastValueRmse', lastRmse);
      page.setOutput('gates', { T: rec.gates.T, H: rec.gates.H, reset: rs, update: zs });
      page.setOutput('series', String(v.series));
    };
  },
});
