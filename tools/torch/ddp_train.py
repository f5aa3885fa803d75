#!/usr/bin/env python3
"""Train a character model with PyTorch DistributedDataParallel (CPU, gloo),
for when one browser is not enough; the result is a webgpu-rnn checkpoint.

    python3 tools/torch/ddp_train.py --steps 200 --world-size 4 --out model.safetensors
    node dist/cli.js sample --checkpoint model.safetensors      # or load it in the browser

The way back: `--init` starts from a checkpoint written by the library (the
CLI's `train --out`, a demo page's download): its parameters load with
load_state_dict(strict=True) and its Adam moments and step count, so
training continues where it stopped.

The model is tools/torch/charmodel.CharModel (Embedding -> LSTM/GRU/RNN ->
Linear) with the library's state-dict names; the file written is
safetensors with the metadata `webgpu-rnn sample` reads (charmodel.arch,
hidden, layers, vocab, embedding). Every process draws its own batches;
DDP averages the gradients, so W processes train on W times the batch.
The processes (torch.multiprocessing) meet on 127.0.0.1 over gloo, CPU
only; several machines or GPUs need a launcher such as torchrun and the
nccl backend, which this script does not set up.
"""
import argparse
import datetime
import json
import os
import socket
import sys

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel as DDP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import charmodel  # noqa: E402
import safetensors_io  # noqa: E402

DEFAULT_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "sonnets.txt")


def js_sorted(chars):
    """Sorted as JavaScript's default sort (UTF-16 code units), as the CLI builds its vocabulary."""
    return sorted(chars, key=lambda c: c.encode("utf-16-be"))


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=DEFAULT_DATA, help="UTF-8 text (default: the built-in sonnets)")
    p.add_argument("--init", help="continue from a webgpu-rnn checkpoint (parameters, Adam state, step)")
    p.add_argument("--arch", choices=["lstm", "gru", "rnn"], default="lstm", help="cell (with --init: the checkpoint's; so are the sizes)")
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--embedding", type=int, help="embedding width (default min(64, hidden), as the CLI)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=16, help="sequences per process and step")
    p.add_argument("--seq", type=int, default=64, help="timesteps per sequence")
    p.add_argument("--lr", type=float, help="Adam learning rate (default 3e-3; with --init: the checkpoint's)")
    p.add_argument("--clip", type=float, default=5.0, help="clip gradients to this global norm")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--world-size", type=int, default=2, help="processes on this machine")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process")
    p.add_argument("--timeout", type=float, default=120, help="seconds a collective may wait before failing")
    p.add_argument("--out", help="write the trained model here (.safetensors)")
    a = p.parse_args(argv)
    for k in ("hidden", "layers", "steps", "batch", "seq", "world_size", "threads"):
        if getattr(a, k) < 1:
            p.error(f"--{k.replace('_', '-')} must be >= 1")
    return a


def load_init(path):
    """The model, its vocabulary, Adam's state per parameter name, the step and the hyperparameters of a library checkpoint."""
    model, tensors, meta = charmodel.load_library_checkpoint(path)
    vocab = json.loads(meta.get("charmodel.vocab", "[]"))  # [] when the file has no vocabulary
    adam, hyper = {}, {}
    # The optimizer's state in PyTorch's layout: metadata "optimizer" = {kind, param_groups} (each group's
    # params are indices, param_names their names), tensors optimizer.state.{i}.{exp_avg, exp_avg_sq, step}.
    opt = json.loads(meta["optimizer"]) if "optimizer" in meta else {"kind": None, "param_groups": []}
    for g in opt["param_groups"]:
        if opt["kind"] != "Adam" or g.get("amsgrad") or g.get("maximize"):
            # AdamW's decay is decoupled (torch.optim.Adam's is L2); SGD, AMSGrad, maximize: not mapped.
            print(f"{path}: a {opt['kind']} param group: its state is not carried over; those parameters start a fresh Adam",
                  file=sys.stderr)
            continue
        for i, name in zip(g["params"], g["param_names"]):
            pre = f"optimizer.state.{i}."
            if pre + "exp_avg" not in tensors:
                continue
            adam[name] = {"step": tensors[pre + "step"].reshape(()).clone(), "exp_avg": tensors[pre + "exp_avg"].clone(),
                          "exp_avg_sq": tensors[pre + "exp_avg_sq"].clone()}
            hyper[name] = {"lr": float(g["lr"]), "betas": tuple(g["betas"]), "eps": float(g["eps"]), "weight_decay": float(g["weight_decay"])}
    return model, vocab, adam, hyper, int(meta.get("step", "0"))


def make_optimizer(model, adam, hyper, lr=None):
    """torch.optim.Adam over the model, with a library checkpoint's state (from load_init) where given:
    one param group per set of hyperparameters (the library keeps one optimizer per module), each
    parameter's exp_avg, exp_avg_sq and step. `lr` overrides every group's learning rate."""
    groups = {}
    for n, p in model.named_parameters():
        h = dict(hyper.get(n, {"lr": 3e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}))
        if lr is not None:
            h["lr"] = lr
        groups.setdefault(json.dumps(h, sort_keys=True), {"params": [], **h})["params"].append(p)
    opt = torch.optim.Adam(list(groups.values()))
    for n, p in model.named_parameters():
        if n in adam:
            opt.state[p] = {k: v.to(p.dtype) if k != "step" else v.clone() for k, v in adam[n].items()}
    return opt


def worker(rank, a, port, text_ids, vocab, result_path):
    torch.set_num_threads(a.threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=a.world_size,
                            timeout=datetime.timedelta(seconds=a.timeout))
    torch.manual_seed(a.seed)  # the same initialisation everywhere (DDP broadcasts rank 0's anyway)
    start = 0
    adam, hyper = {}, {}
    if a.init:
        model, _, adam, hyper, start = load_init(a.init)
    else:
        E = a.embedding or min(64, a.hidden)
        model = charmodel.CharModel(a.arch, len(vocab), E, a.hidden, a.layers)
    ddp = DDP(model)
    opt = make_optimizer(model, adam, hyper, a.lr)
    named = list(model.named_parameters())
    resumed = sum(1 for n, _ in named if n in adam)

    g = torch.Generator().manual_seed(a.seed * 1000 + rank + 7919 * start)  # each rank its own batches
    N = len(text_ids)
    losses = []
    for _ in range(a.steps):
        s = torch.randint(0, N - a.seq - 1, (a.batch,), generator=g)
        win = torch.stack([text_ids[i:i + a.seq + 1] for i in s.tolist()], dim=1)  # [T + 1, B]
        x, y = win[:-1], win[1:]
        logits, _ = ddp(x)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad()
        loss.backward()  # DDP all-reduces (averages) the gradients here
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        mean = loss.detach().clone()
        dist.all_reduce(mean)
        losses.append(mean.item() / a.world_size)
        if rank == 0 and (len(losses) % max(1, a.steps // 10) == 0 or len(losses) == a.steps):
            print(f"step {start + len(losses)}: loss {losses[-1]:.4f}", flush=True)

    # The replicas must hold the same parameters: compare every rank's with rank 0's.
    flat = torch.cat([p.detach().reshape(-1) for p in model.parameters()])
    ref = flat.clone()
    dist.broadcast(ref, 0)
    diff = (flat - ref).abs().max()
    dist.all_reduce(diff, op=dist.ReduceOp.MAX)
    if rank == 0:
        if a.out:
            meta = charmodel.metadata_for(model, vocab)
            meta.update({"step": str(start + a.steps), "trained_by": f"tools/torch/ddp_train.py (torch {torch.__version__}, "
                         f"DDP gloo x {a.world_size})"})
            safetensors_io.save(a.out, {k: v.float() for k, v in model.state_dict().items()}, meta)
            print(f"saved {a.out}", flush=True)
        with open(result_path, "w") as f:
            json.dump({"losses": losses, "start_step": start, "steps": a.steps, "world_size": a.world_size,
                       "vocab_size": len(vocab), "adam_state_resumed": resumed, "parameters": len(named),
                       "replica_max_diff": diff.item(), "torch": torch.__version__}, f)
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv=None):
    a = parse(argv)
    with open(a.data, encoding="utf-8") as f:
        text = f.read()
    if a.init:
        vocab = load_init(a.init)[1]
        if not vocab:
            raise SystemExit(f"--init {a.init}: no charmodel.vocab in the metadata (save it with the vocabulary, as train --out does)")
        missing = sorted(set(text) - set(vocab))
        if missing:
            raise SystemExit(f"--data has characters the checkpoint's vocabulary lacks: {''.join(missing)!r}")
    else:
        vocab = js_sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    text_ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    if len(text_ids) < a.seq + 2:
        raise SystemExit(f"--data: {len(text_ids)} characters, need more than --seq + 1 = {a.seq + 1}")
    result = os.path.join(os.path.dirname(os.path.abspath(a.out)) if a.out else ".", f".ddp_result_{os.getpid()}.json")
    mp.spawn(worker, args=(a, free_port(), text_ids, vocab, result), nprocs=a.world_size, join=True)
    with open(result) as f:
        summary = json.load(f)
    os.remove(result)
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
