/**
 * Float64 references for Keras / TF.js recurrent layers (LSTM, GRU,
 * SimpleRNN), written from the Keras cell equations, independently of
 * recurrent.ts (which follows PyTorch). Zero initial state, one direction,
 * time-major x [T, B, I], output [T, B, H] (return_sequences=True).
 *
 * Keras weights are column-blocked: x [1, I] times kernel [I, G*H] gives the
 * G gate pre-activations side by side. Activation tanh, recurrent_activation
 * sigmoid (the Keras 2+ default; note TF.js's own default is hard_sigmoid,
 * so a TF.js layer must be built with recurrentActivation: 'sigmoid').
 */

const sigmoid = (a: number): number => 1 / (1 + Math.exp(-a));

/** v [n] times M [n, cols], column `col` of the result. */
function vecMatCol(v: Float64Array, M: Float64Array, n: number, cols: number, col: number): number {
  let s = 0;
  for (let k = 0; k < n; k++) s += v[k]! * M[k * cols + col]!;
  return s;
}

/**
 * Keras LSTM (gate columns i, f, c, o):
 *   z = x kernel + h recurrent_kernel + bias           [4H]
 *   i = σ(z[0:H]), f = σ(z[H:2H]), c~ = tanh(z[2H:3H]), o = σ(z[3H:4H])
 *   c' = f * c + i * c~;  h' = o * tanh(c')
 */
export function kerasLSTMRef(
  x: Float64Array,
  T: number,
  B: number,
  w: { kernel: Float64Array; recurrentKernel: Float64Array; bias?: Float64Array },
  I: number,
  H: number,
): { output: Float64Array; h: Float64Array; c: Float64Array } {
  const C = 4 * H;
  const output = new Float64Array(T * B * H);
  const hAll = new Float64Array(B * H);
  const cAll = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    let h = new Float64Array(H);
    let c = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const xt = x.slice((t * B + b) * I, (t * B + b + 1) * I);
      const z = new Float64Array(C);
      for (let col = 0; col < C; col++) {
        z[col] = vecMatCol(xt, w.kernel, I, C, col) + vecMatCol(h, w.recurrentKernel, H, C, col) + (w.bias ? w.bias[col]! : 0);
      }
      const hNew = new Float64Array(H);
      const cNew = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const i = sigmoid(z[j]!);
        const f = sigmoid(z[H + j]!);
        const cc = Math.tanh(z[2 * H + j]!);
        const o = sigmoid(z[3 * H + j]!);
        cNew[j] = f * c[j]! + i * cc;
        hNew[j] = o * Math.tanh(cNew[j]!);
        output[(t * B + b) * H + j] = hNew[j]!;
      }
      h = hNew;
      c = cNew;
    }
    hAll.set(h, b * H);
    cAll.set(c, b * H);
  }
  return { output, h: hAll, c: cAll };
}

/**
 * Keras GRU (gate columns z, r, h~):
 *   reset_after = true (bias [2, 3H]: row 0 input bias, row 1 recurrent bias):
 *     xz, xr, xh = x kernel + bias[0];   rz, rr, rh = h recurrent_kernel + bias[1]
 *     z = σ(xz + rz);  r = σ(xr + rr);  h~ = tanh(xh + r * rh)
 *   reset_after = false (bias [3H], on the input side):
 *     xz, xr, xh = x kernel + bias
 *     z = σ(xz + h U_z);  r = σ(xr + h U_r);  h~ = tanh(xh + (r * h) U_h)
 *   h' = z * h + (1 - z) * h~
 */
export function kerasGRURef(
  x: Float64Array,
  T: number,
  B: number,
  w: { kernel: Float64Array; recurrentKernel: Float64Array; bias?: Float64Array },
  I: number,
  H: number,
  resetAfter: boolean,
): { output: Float64Array; h: Float64Array } {
  const C = 3 * H;
  if (w.bias && w.bias.length !== (resetAfter ? 2 * C : C)) throw new Error('kerasGRURef: bias has the wrong size');
  const inBias = (col: number): number => (w.bias ? w.bias[col]! : 0);
  const recBias = (col: number): number => (w.bias && resetAfter ? w.bias[C + col]! : 0);
  const output = new Float64Array(T * B * H);
  const hAll = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    let h = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const xt = x.slice((t * B + b) * I, (t * B + b + 1) * I);
      const xs = new Float64Array(C);
      for (let col = 0; col < C; col++) xs[col] = vecMatCol(xt, w.kernel, I, C, col) + inBias(col);
      const z = new Float64Array(H);
      const r = new Float64Array(H);
      // z and r: the recurrent term is h U (+ recurrent bias when reset_after)
      for (let j = 0; j < H; j++) {
        z[j] = sigmoid(xs[j]! + vecMatCol(h, w.recurrentKernel, H, C, j) + recBias(j));
        r[j] = sigmoid(xs[H + j]! + vecMatCol(h, w.recurrentKernel, H, C, H + j) + recBias(H + j));
      }
      const rh = new Float64Array(H);
      for (let j = 0; j < H; j++) rh[j] = r[j]! * h[j]!;
      const hNew = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        const col = 2 * H + j;
        const cand = resetAfter
          ? Math.tanh(xs[col]! + r[j]! * (vecMatCol(h, w.recurrentKernel, H, C, col) + recBias(col)))
          : Math.tanh(xs[col]! + vecMatCol(rh, w.recurrentKernel, H, C, col));
        hNew[j] = z[j]! * h[j]! + (1 - z[j]!) * cand;
        output[(t * B + b) * H + j] = hNew[j]!;
      }
      h = hNew;
    }
    hAll.set(h, b * H);
  }
  return { output, h: hAll };
}

/** Keras SimpleRNN: h' = tanh(x kernel + h recurrent_kernel + bias). */
export function kerasSimpleRNNRef(
  x: Float64Array,
  T: number,
  B: number,
  w: { kernel: Float64Array; recurrentKernel: Float64Array; bias?: Float64Array },
  I: number,
  H: number,
): { output: Float64Array; h: Float64Array } {
  const output = new Float64Array(T * B * H);
  const hAll = new Float64Array(B * H);
  for (let b = 0; b < B; b++) {
    let h = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const xt = x.slice((t * B + b) * I, (t * B + b + 1) * I);
      const hNew = new Float64Array(H);
      for (let j = 0; j < H; j++) {
        hNew[j] = Math.tanh(
          vecMatCol(xt, w.kernel, I, H, j) + vecMatCol(h, w.recurrentKernel, H, H, j) + (w.bias ? w.bias[j]! : 0),
        );
        output[(t * B + b) * H + j] = hNew[j]!;
      }
      h = hNew;
    }
    hAll.set(h, b * H);
  }
  return { output, h: hAll };
}
