#!/usr/bin/env python3
"""PyTorch (cuDNN on CUDA) on the kit's models: the same sizes and the same
training step as bench/gpu/kit.ts (forward, loss, backward, clip_grad_norm_,
Adam), timed with CUDA events after a warm-up; plus square fp32 GEMMs.

    python3 torch_bench.py --json FILE [--device cuda|cpu] [--cpu-sizes] [--tf32]

fp32 throughout; TF32 is off unless --tf32 (cuDNN would otherwise use it for
the WaveNet's convolutions by default, which our f32 kernels do not).
"""
import argparse
import json
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

LR, EPS, MAX_NORM = 1e-3, 1e-8, 0.05


def models(cpu):
    """Mirrors models() in kit.ts."""
    rec = dict(B=32, T=64, I=32, H=128, L=1)
    return [
        dict(name='LSTM', cell='lstm', **rec),
        dict(name='GRU', cell='gru', **rec),
        dict(name='RNN (tanh)', cell='rnn', **rec),
        dict(name='WaveNet', cell='wavenet', B=16, T=256),
        dict(name='LSTM big', cell='lstm', B=8 if cpu else 64, T=4 if cpu else 100, I=512, H=512, L=2),
    ]


class Seq(nn.Module):
    """SequenceToSequence({input: 'dense'}): the recurrent layer, then Linear(H, 1) at every step."""

    def __init__(self, cell, I, H, L):
        super().__init__()
        kind = {'lstm': nn.LSTM, 'gru': nn.GRU, 'rnn': nn.RNN}[cell]
        self.rnn = kind(I, H, num_layers=L)
        self.head = nn.Linear(H, 1)

    def forward(self, x):  # x [T, B, I]
        y, _ = self.rnn(x)
        return self.head(y)


class WaveNet(nn.Module):
    """Input 1x1, per layer dilated filter/gate (kernel 2), tanh*sigmoid, residual and skip 1x1; relu-1x1-relu-1x1 head."""

    def __init__(self, cin=1, R=32, Dc=32, S=32, out=256, dilations=(1, 2, 4, 8), stacks=2, K=2):
        super().__init__()
        self.K = K
        self.inp = nn.Conv1d(cin, R, 1)
        self.dil = [d for _ in range(stacks) for d in dilations]
        self.filt = nn.ModuleList(nn.Conv1d(R, Dc, K, dilation=d) for d in self.dil)
        self.gate = nn.ModuleList(nn.Conv1d(R, Dc, K, dilation=d) for d in self.dil)
        self.res = nn.ModuleList(nn.Conv1d(Dc, R, 1) for _ in self.dil)
        self.skip = nn.ModuleList(nn.Conv1d(Dc, S, 1) for _ in self.dil)
        self.h1 = nn.Conv1d(S, S, 1)
        self.h2 = nn.Conv1d(S, out, 1)

    def forward(self, x):  # x [B, 1, T]
        h = self.inp(x)
        s = 0
        for k, d in enumerate(self.dil):
            hp = F.pad(h, ((self.K - 1) * d, 0))  # causal
            z = torch.tanh(self.filt[k](hp)) * torch.sigmoid(self.gate[k](hp))
            s = s + self.skip[k](z)
            if k < len(self.dil) - 1:  # the last residual output feeds nothing (ours skips it too)
                h = h + self.res[k](z)
        return self.h2(F.relu(self.h1(F.relu(s))))


def make(m, dev):
    g = torch.Generator(device='cpu').manual_seed(1)
    if m['cell'] == 'wavenet':
        net = WaveNet().to(dev)
        x = (torch.rand(m['B'], 1, m['T'], generator=g) * 2 - 1).to(dev)
        y = torch.randint(0, 256, (m['B'], m['T']), generator=g).to(dev)
        loss_fn = lambda: F.cross_entropy(net(x), y)
    else:
        net = Seq(m['cell'], m['I'], m['H'], m['L']).to(dev)
        x = (torch.rand(m['T'], m['B'], m['I'], generator=g) * 2 - 1).to(dev)
        y = (torch.rand(m['T'], m['B'], 1, generator=g) * 2 - 1).to(dev)
        loss_fn = lambda: F.mse_loss(net(x), y)
    opt = torch.optim.Adam(net.parameters(), lr=LR, eps=EPS)

    def step():
        opt.zero_grad(set_to_none=False)
        loss = loss_fn()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(net.parameters(), MAX_NORM)
        opt.step()
        return loss, norm

    return step


def timed(fn, dev, n):
    """Per-call ms: CUDA events around each call on CUDA (then one synchronize), perf_counter on CPU."""
    out = []
    if dev.type == 'cuda':
        ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(n)]
        wall = []
        for a, b in ev:
            t0 = time.perf_counter()
            a.record()
            fn()
            b.record()
            torch.cuda.synchronize()
            wall.append((time.perf_counter() - t0) * 1e3)
        out = [a.elapsed_time(b) for a, b in ev]
        return out, wall
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1e3)
    return out, out


def median(a):
    s = sorted(a)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def sync(dev):
    if dev.type == 'cuda':
        torch.cuda.synchronize()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--json', required=True)
    ap.add_argument('--device', default='cuda')
    ap.add_argument('--cpu-sizes', action='store_true')
    ap.add_argument('--tf32', action='store_true')
    ap.add_argument('--max-s', type=float, default=120)
    a = ap.parse_args()
    t_start = time.perf_counter()
    dev = torch.device(a.device)
    cpu = dev.type == 'cpu' or a.cpu_sizes
    torch.backends.cuda.matmul.allow_tf32 = a.tf32
    torch.backends.cudnn.allow_tf32 = a.tf32
    torch.backends.cudnn.benchmark = True
    if dev.type == 'cpu':
        torch.set_num_threads(max(1, min(torch.get_num_threads(), 4)))
    info = dict(timing='CUDA events' if dev.type == 'cuda' else 'perf_counter (no GPU)', torch=torch.__version__, python=sys.version.split()[0], device=str(dev), tf32=a.tf32, cpuSizes=cpu)
    if dev.type == 'cuda':
        info.update(gpu=torch.cuda.get_device_name(0), cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version())
    warm, steps = (1, 2) if cpu else (10, 30)
    rows = []
    for m in models(cpu):
        if time.perf_counter() - t_start > a.max_s:
            rows.append(dict(model=m['name'], skipped='time budget spent'))
            continue
        try:
            step = make(m, dev)
            t0 = time.perf_counter()
            loss0, norm0 = step()
            sync(dev)
            first = (time.perf_counter() - t0) * 1e3
            for _ in range(warm - 1):
                step()
            sync(dev)
            gpu, wall = timed(step, dev, steps)
            loss, _ = step()
            row = dict(model=m['name'], sizes={k: m.get(k) for k in 'BTIHL'}, steps=steps, warmup=warm,
                       gpuMs=round(median(gpu), 4), wallMs=round(median(wall), 4), firstStepMs=round(first, 2),
                       lossFirst=round(float(loss0), 5), lossLast=round(float(loss), 5), normFirst=round(float(norm0), 5))
        except Exception as e:  # one model's failure must not lose the others
            row = dict(model=m['name'], error=str(e)[:500])
        print(f"torch {m['name']}: {row.get('gpuMs', '-')} ms/step", file=sys.stderr)
        rows.append(row)
        if dev.type == 'cuda':
            torch.cuda.empty_cache()
    gemm = []
    for n in ([256] if cpu else [1024, 2048, 4096]):
        A = torch.rand(n, n, device=dev)
        B = torch.rand(n, n, device=dev)
        reps = 2 if cpu else max(1, int(4e12 * 0.02 / (2 * n ** 3)))
        A @ B
        sync(dev)
        t, _ = timed(lambda: [A @ B for _ in range(reps)], dev, 2 if cpu else 5)
        best = min(t)
        gemm.append(dict(n=n, reps=reps, gflops=round(2 * n ** 3 * reps / best / 1e6, 1)))
        print(f"torch gemm {n}: {gemm[-1]['gflops']} GFLOP/s", file=sys.stderr)
    info['seconds'] = round(time.perf_counter() - t_start, 2)
    with open(a.json, 'w') as f:
        json.dump(dict(part='torch', info=info, train=rows, gemm=gemm), f)
        f.write('\n')


if __name__ == '__main__':
    main()
