"""For test/torch.test.ts: torch-initialised nn.RNN / nn.LSTM / nn.GRU, their
outputs, final states and gradients in float64.

usage: recurrent.py cases.json out_dir
cases.json: [{"name", "cell": "rnn_tanh"|"rnn_relu"|"lstm"|"gru", "I", "H", "L", "T", "B",
              "bidirectional", "batch_first", "seed", "lengths"?}]
  lengths: valid steps per batch row, run through pack_padded_sequence / pad_packed_sequence
  (outputs past a row's end are zeros there, so their upstream gradient reaches nothing).
Writes out_dir/<name>.safetensors:
  param.<name>  F32  the state dict as torch initialised it (float32, as the library holds it)
  x, h0, c0, dout, dh, dc  F32  inputs and upstream gradients (random, seeded)
  out, h_n, c_n, dx, dh0, dc0, grad.<name>  F64  torch's results, computed in float64
    from those same float32 values (model.double()), for
    L = sum(out * dout) + sum(h_n * dh) + sum(c_n * dc).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "torch"))
import safetensors_io  # noqa: E402

torch.set_num_threads(1)


def build(c):
    kw = dict(input_size=c["I"], hidden_size=c["H"], num_layers=c["L"], bidirectional=c["bidirectional"],
              batch_first=c["batch_first"])
    cell = c["cell"]
    if cell == "lstm":
        return torch.nn.LSTM(**kw)
    if cell == "gru":
        return torch.nn.GRU(**kw)
    return torch.nn.RNN(nonlinearity="relu" if cell == "rnn_relu" else "tanh", **kw)


def run(c, out_dir):
    g = torch.Generator().manual_seed(c["seed"])
    torch.manual_seed(c["seed"])  # the module's own initialisation
    m = build(c)
    params = {k: v.detach().clone() for k, v in m.state_dict().items()}
    D = 2 if c["bidirectional"] else 1
    T, B, I, H, L = c["T"], c["B"], c["I"], c["H"], c["L"]
    xs = (B, T, I) if c["batch_first"] else (T, B, I)
    os_ = (B, T, D * H) if c["batch_first"] else (T, B, D * H)
    st = (L * D, B, H)
    rnd = lambda shape: torch.rand(shape, generator=g) * 2 - 1  # noqa: E731  uniform [-1, 1), float32
    x, h0, dout, dh = rnd(xs), rnd(st), rnd(os_), rnd(st)
    lstm = c["cell"] == "lstm"
    c0, dc = (rnd(st), rnd(st)) if lstm else (None, None)

    m = m.double()
    xd = x.double().requires_grad_()
    h0d = h0.double().requires_grad_()
    lengths = c.get("lengths")
    inp = xd
    if lengths:
        inp = torch.nn.utils.rnn.pack_padded_sequence(xd, torch.tensor(lengths), batch_first=c["batch_first"], enforce_sorted=False)
    if lstm:
        c0d = c0.double().requires_grad_()
        out, (hn, cn) = m(inp, (h0d, c0d))
    else:
        out, hn = m(inp, h0d)
    if lengths:
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=c["batch_first"], total_length=T)
    loss = (out * dout.double()).sum() + (hn * dh.double()).sum()
    if lstm:
        loss = loss + (cn * dc.double()).sum()
    loss.backward()

    t = {f"param.{k}": v for k, v in params.items()}
    t.update(x=x, h0=h0, dout=dout, dh=dh, out=out.detach(), h_n=hn.detach(), dx=xd.grad, dh0=h0d.grad)
    if lstm:
        t.update(c0=c0, dc=dc, c_n=cn.detach(), dc0=c0d.grad)
    for k, p in m.named_parameters():
        t[f"grad.{k}"] = p.grad
    safetensors_io.save(os.path.join(out_dir, f"{c['name']}.safetensors"), t, {"torch": torch.__version__})


def main():
    cases = json.load(open(sys.argv[1]))
    for c in cases:
        run(c, sys.argv[2])
    print(json.dumps({"cases": len(cases), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
