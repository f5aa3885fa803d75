"""For the torch tests: whole models (Embedding -> RNN/LSTM/GRU -> Linear) both ways.

usage:
  models.py logits jobs.json
      jobs: [{"checkpoint", "arch", "inputs", "out"}]: loads each checkpoint written by the library
      (or the CLI) into tools/torch/charmodel.CharModel with load_state_dict(strict=True), after
      dropping the optimizer.* and rng.* keys; runs it in float64 on `inputs`' "ids" [T, B];
      writes {"logits": F64 [T, B, V]} to `out`. Prints what it loaded and dropped, as JSON.
  models.py export spec.json
      spec: {"arch", "V", "E", "H", "L", "T", "B", "seed", "out"}: a torch-initialised CharModel;
      writes its state dict (F32), random "ids" [T, B] (F32 holding integers) and its float64
      "logits" to `out`.
  models.py continue spec.json
      spec: {"checkpoint", "batch", "out"}: loads a library checkpoint as tools/torch/ddp_train.py
      --init does (parameters strictly, Adam moments, step, per-module hyperparameters), takes one
      Adam step in float64 on the batch's "x" [T, B] / "y" [T*B] (cross-entropy, mean), and writes
      the loss ("loss" F64 [1]) and the new parameters (F64) to `out`.
  models.py back spec.json
      spec: {"arch", "V", "E", "H", "L", "T", "B", "seed", "lr", "batches", "ckpt", "out"}: a torch
      CharModel (float32) takes two torch.optim.Adam steps on batches 0 and 1 of `batches`
      ("x0", "y0", ...), then writes a webgpu-rnn checkpoint (format 2: parameters, optimizer.state.{i}.*
      by parameter index, the param_groups metadata, a zero dropout counter) to `ckpt`; takes the third
      step on batch 2 and writes the new parameters (F32) to `out`.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "torch"))
import charmodel  # noqa: E402
import ddp_train  # noqa: E402
import safetensors_io  # noqa: E402

torch.set_num_threads(1)


def logits(jobs):
    done = []
    for j in jobs:
        tensors, meta = safetensors_io.load(j["checkpoint"])
        sd = charmodel.model_tensors(tensors)
        model = charmodel.from_state_dict(sd, j["arch"])  # load_state_dict(strict=True) inside
        ids = safetensors_io.load(j["inputs"])[0]["ids"].long()
        with torch.no_grad():
            y, _ = model.double()(ids)
        safetensors_io.save(j["out"], {"logits": y})
        done.append({"loaded": sorted(sd), "dropped": sorted(set(tensors) - set(sd)), "metadata": meta})
    return done


def export(s):
    torch.manual_seed(s["seed"])
    model = charmodel.CharModel(s["arch"], s["V"], s["E"], s["H"], s["L"])
    out = {k: v.detach().clone() for k, v in model.state_dict().items()}
    ids = torch.randint(0, s["V"], (s["T"], s["B"]))
    with torch.no_grad():
        y, _ = model.double()(ids)
    out.update(ids=ids.float(), logits=y)
    safetensors_io.save(s["out"], out)
    return {"keys": sorted(out)}


def continue_(s):
    model, _, adam, hyper, step = ddp_train.load_init(s["checkpoint"])
    model = model.double()
    opt = ddp_train.make_optimizer(model, adam, hyper)
    b = safetensors_io.load(s["batch"])[0]
    logits_, _ = model(b["x"].long())
    loss = torch.nn.functional.cross_entropy(logits_.reshape(-1, logits_.shape[-1]), b["y"].long().reshape(-1))
    opt.zero_grad()
    loss.backward()
    opt.step()
    out = {k: v.detach() for k, v in model.state_dict().items()}
    out["loss"] = loss.detach().reshape(1)
    safetensors_io.save(s["out"], out)
    return {"step": step, "resumed": sorted(adam), "groups": [{k: v for k, v in g.items() if k != "params"} for g in opt.param_groups]}


def back(s):
    torch.manual_seed(s["seed"])
    model = charmodel.CharModel(s["arch"], s["V"], s["E"], s["H"], s["L"])
    opt = torch.optim.Adam(model.parameters(), lr=s["lr"])
    b = safetensors_io.load(s["batches"])[0]

    def step(i):
        y_, _ = model(b[f"x{i}"].long())
        loss = torch.nn.functional.cross_entropy(y_.reshape(-1, y_.shape[-1]), b[f"y{i}"].long().reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(0)
    step(1)
    names = [n for n, _ in model.named_parameters()]
    tensors = {k: v.detach().clone() for k, v in model.state_dict().items()}
    sd = opt.state_dict()
    for i, st in sd["state"].items():
        tensors[f"optimizer.state.{i}.exp_avg"] = st["exp_avg"]
        tensors[f"optimizer.state.{i}.exp_avg_sq"] = st["exp_avg_sq"]
        tensors[f"optimizer.state.{i}.step"] = torch.as_tensor(st["step"], dtype=torch.float32).reshape(1)
    tensors["rng.rnn.dropout_counter"] = torch.zeros(1)
    groups = []
    for g in sd["param_groups"]:
        groups.append({"lr": g["lr"], "initial_lr": g["lr"], "betas": list(g["betas"]), "eps": g["eps"],
                       "weight_decay": g["weight_decay"], "amsgrad": g["amsgrad"], "maximize": g["maximize"],
                       "params": g["params"], "param_names": [names[i] for i in g["params"]]})
    meta = {"format": "webgpu-rnn.checkpoint", "format_version": "2", "step": "2", "epoch": "0",
            "optimizer": json.dumps({"kind": "Adam", "param_groups": groups}), "rng.rnn.dropout_seed": "1"}
    safetensors_io.save(s["ckpt"], tensors, meta)
    step(2)
    safetensors_io.save(s["out"], {k: v.detach() for k, v in model.state_dict().items()})
    return {"names": names}


if __name__ == "__main__":
    mode, path = sys.argv[1], sys.argv[2]
    spec = json.load(open(path))
    print(json.dumps({"logits": logits, "export": export, "continue": continue_, "back": back}[mode](spec)))
