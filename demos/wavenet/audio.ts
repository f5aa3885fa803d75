/**
 * Web Audio for the page: buffers are built without an AudioContext (the
 * `AudioBuffer` constructor needs none), and the one AudioContext is created
 * on the first click of a Play button: browsers only let audio start from a
 * user gesture, and Chromium warns about a context created before one.
 */

/** Firefox accepts AudioBuffers from 8 kHz up; lower rates are upsampled by an integer factor. */
const MIN_RATE = 8000;

/**
 * An AudioBuffer of `x` (amplitudes in [-1, 1]) at `sampleRate`, upsampled
 * by linear interpolation to at least 8 kHz, with 5 ms fades at both ends
 * so that playback starts and stops without a click.
 */
export function toAudioBuffer(x: ArrayLike<number>, sampleRate: number): AudioBuffer {
  const up = Math.max(1, Math.ceil(MIN_RATE / sampleRate));
  const length = x.length * up;
  const rate = sampleRate * up;
  const data = new Float32Array(length);
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const b = i + 1 < x.length ? x[i + 1]! : a;
    for (let j = 0; j < up; j++) data[i * up + j] = a + ((b - a) * j) / up;
  }
  const fade = Math.min(Math.floor(length / 2), Math.round(0.005 * rate));
  for (let i = 0; i < fade; i++) {
    data[i]! *= i / fade;
    data[length - 1 - i]! *= i / fade;
  }
  const buf = new AudioBuffer({ length, sampleRate: rate, numberOfChannels: 1 });
  buf.copyToChannel(data, 0);
  return buf;
}

/** Plays one buffer at a time; the context is created on the first `play` (a click). */
export class Player {
  private ctx: AudioContext | null = null;
  private source: AudioBufferSourceNode | null = null;

  /** Starts `buf`; resolves with the context's state ('running' once the browser lets it play). */
  async play(buf: AudioBuffer, onEnd?: () => void): Promise<AudioContextState> {
    this.stop();
    this.ctx ??= new AudioContext();
    if (this.ctx.state === 'suspended') await this.ctx.resume();
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    const gain = this.ctx.createGain();
    gain.gain.value = 0.8;
    src.connect(gain).connect(this.ctx.destination);
    src.onended = () => {
      if (this.source === src) this.source = null;
      onEnd?.();
    };
    this.source = src;
    src.start();
    return this.ctx.state;
  }

  stop(): void {
    this.source?.stop();
    this.source = null;
  }
}
