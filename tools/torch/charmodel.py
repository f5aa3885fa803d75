"""The webgpu-rnn SequenceToSequence model in PyTorch: an nn.Module whose
state_dict names are the library's (`embedding.weight`, `rnn.weight_ih_l0`,
..., `head.weight`, `head.bias`), so a library checkpoint loads with
load_state_dict(strict=True) and a state dict written here loads into the
library (and into `webgpu-rnn sample`, with the metadata below).
"""
import json
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

GATES = {"lstm": 4, "gru": 3, "rnn": 1}


class CharModel(nn.Module):
    """ids [T, B] (int64) -> logits [T, B, V]: Embedding(V, E) -> RNN/LSTM/GRU(E, H, L) -> Linear(H, V)."""

    def __init__(self, arch, vocab_size, embedding, hidden, layers, nonlinearity="tanh"):
        super().__init__()
        self.arch = arch
        self.embedding = nn.Embedding(vocab_size, embedding)
        if arch == "lstm":
            self.rnn = nn.LSTM(embedding, hidden, layers)
        elif arch == "gru":
            self.rnn = nn.GRU(embedding, hidden, layers)
        elif arch == "rnn":
            self.rnn = nn.RNN(embedding, hidden, layers, nonlinearity=nonlinearity)
        else:
            raise ValueError(f"arch must be lstm, gru or rnn, got {arch!r}")
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, ids, state=None):
        out, state = self.rnn(self.embedding(ids), state)
        return self.head(out), state


def model_tensors(tensors):
    """The parameters of a library checkpoint: everything but `optimizer.*` and `rng.*`."""
    return {k: v for k, v in tensors.items() if not k.startswith(("optimizer.", "rng."))}


def from_state_dict(sd, arch):
    """A CharModel shaped after a state dict (the layer count, sizes from the tensors), loaded strictly."""
    V, E = sd["embedding.weight"].shape
    H = sd["rnn.weight_hh_l0"].shape[1]
    L = len([k for k in sd if k.startswith("rnn.weight_hh_l") and not k.endswith("_reverse")])
    model = CharModel(arch, V, E, H, L)
    model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    return model


def metadata_for(model, vocab):
    """The metadata `webgpu-rnn sample` reads (src/cli.ts readConfig)."""
    return {
        "charmodel.arch": model.arch,
        "charmodel.hidden": str(model.rnn.hidden_size),
        "charmodel.layers": str(model.rnn.num_layers),
        "charmodel.vocab": json.dumps(vocab, ensure_ascii=False, separators=(",", ":")),  # as JSON.stringify
        "charmodel.embedding": str(model.embedding.embedding_dim),
    }


def arch_of(meta):
    """The cell of a library checkpoint: the CLI's `charmodel.arch`, else the class of its `rnn` module
    in `architecture` (saveCheckpoint's metadata; an RNN is taken as tanh: the file does not say)."""
    if "charmodel.arch" in meta:
        return meta["charmodel.arch"]
    cls = json.loads(meta.get("architecture", "{}")).get("rnn")
    arch = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}.get(cls)
    if arch is None:
        raise ValueError(f"no charmodel.arch and no rnn module in the architecture metadata ({cls!r}): "
                         "not a webgpu-rnn SequenceToSequence checkpoint")
    return arch


def load_library_checkpoint(path):
    """(model, tensors, metadata) from a checkpoint of a SequenceToSequence with an embedding
    (saveCheckpoint, `webgpu-rnn train --out`, a demo page's download)."""
    tensors, meta = safetensors_io.load(path)
    try:
        arch = arch_of(meta)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
    return from_state_dict(model_tensors(tensors), arch), tensors, meta
