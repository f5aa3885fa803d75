/**
 * 8-bit mu-law companding (mu = 255), as in the WaveNet paper:
 *   f(x) = sign(x) ln(1 + mu |x|) / ln(1 + mu),  x in [-1, 1] (clamped)
 *   q = round((f + 1) / 2 * mu) in 0..mu;  decode: f = 2q/mu - 1, x = sign(f) ((1 + mu)^|f| - 1) / mu
 */
export function muLawEncode(x: number, mu = 255): number {
  const xc = Math.min(1, Math.max(-1, x));
  const f = (Math.sign(xc) * Math.log1p(mu * Math.abs(xc))) / Math.log1p(mu);
  return Math.round(((f + 1) / 2) * mu);
}

export function muLawDecode(q: number, mu = 255): number {
  const f = (2 * q) / mu - 1;
  return (Math.sign(f) * (Math.pow(1 + mu, Math.abs(f)) - 1)) / mu;
}
