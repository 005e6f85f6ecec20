"""A character-level Transformer language model, trained on the source of a Python standard
library module (read from its file, so nothing is downloaded), with a sample at the end.

    python -m framework.examples.char_lm                     # ~1 minute on 2 cores
    python -m framework.examples.char_lm --steps 2000 --module argparse --device cuda

The model is GPT-like: token and position embeddings, a stack of pre-norm
nn.TransformerEncoderLayers with a causal mask, a final LayerNorm and a linear head over the
characters (ReLU feed-forward by default: GELU's elementwise kernels cost a third of a step
on the CPU here). It prints the training loss (mean over the last `--print-every` steps) and the
loss on held-out text; the loss falls from log(vocabulary) towards ~1.5 nats per character.
"""
import argparse
import importlib
import math
import time

import numpy as np

import framework as torch
import framework.nn as nn


def load_text(module_name):
    """The source of a standard-library module, as text."""
    module = importlib.import_module(module_name)
    with open(module.__file__, encoding="utf-8") as f:
        return f.read()


class Vocabulary:
    """Characters <-> integer ids, built from the text."""

    def __init__(self, text):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self):
        return len(self.chars)

    def encode(self, text):
        return np.array([self.index[c] for c in text], dtype=np.int64)

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)


class CharTransformer(nn.Module):
    """Embeddings, `layers` causal pre-norm encoder layers, LayerNorm, a head over the vocabulary."""

    def __init__(self, vocab, block, d_model, heads, layers, dropout, activation="relu"):
        super().__init__()
        self.block = block
        self.tokens = nn.Embedding(vocab, d_model)
        self.positions = nn.Embedding(block, d_model)
        layer = nn.TransformerEncoderLayer(d_model, heads, 4 * d_model, dropout, activation=activation,
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def forward(self, ids):
        t = ids.shape[1]
        pos = torch.arange(t, device=ids.device)
        x = self.tokens(ids) + self.positions(pos)
        mask = nn.Transformer.generate_square_subsequent_mask(t, device=ids.device)
        return self.head(self.norm(self.encoder(x, mask=mask, is_causal=True)))


def batches(data, block, batch, rng):
    """Random (inputs, next-character targets) windows of `block` characters."""
    while True:
        starts = rng.integers(0, len(data) - block - 1, batch)
        x = np.stack([data[s:s + block] for s in starts])
        y = np.stack([data[s + 1:s + block + 1] for s in starts])
        yield torch.from_numpy(x), torch.from_numpy(y)


def evaluate(model, data, block, batch, device, rng, rounds=4):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for _, (x, y) in zip(range(rounds), batches(data, block, batch, rng)):
            logits = model(x.to(device))
            total += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.to(device).reshape(-1)).item()
    model.train()
    return total / rounds


def sample(model, vocab, prompt, length, device, rng, temperature=0.8):
    """Continue `prompt` by `length` characters drawn from the model."""
    model.eval()
    ids = list(vocab.encode(prompt))
    with torch.no_grad():
        for _ in range(length):
            context = torch.tensor([ids[-model.block:]], device=device)
            logits = model(context)[0, -1].cpu().numpy().astype(np.float64) / temperature
            p = np.exp(logits - logits.max())
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
    model.train()
    return vocab.decode(ids)


def train(steps=300, module="argparse", block=64, batch=32, d_model=64, heads=4, layers=2, dropout=0.0, lr=3e-3,
          print_every=25, device="cpu", seed=0, sample_length=200, activation="relu", log=print):
    """Train and return the list of training losses (one per step)."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    text = load_text(module)
    vocab = Vocabulary(text)
    data = vocab.encode(text)
    split = int(0.9 * len(data))
    train_data, held_out = data[:split], data[split:]
    model = CharTransformer(len(vocab), block, d_model, heads, layers, dropout, activation).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    params = sum(p.numel() for p in model.parameters())
    log(f"{module}.py: {len(text)} characters, vocabulary {len(vocab)} (uniform loss {math.log(len(vocab)):.2f}); "
        f"model {params} parameters on {device}")
    losses, start = [], time.perf_counter()
    for step, (x, y) in zip(range(1, steps + 1), batches(train_data, block, batch, rng)):
        for group in opt.param_groups:  # linear warm-up, then cosine decay
            group["lr"] = lr * min(1.0, step / 20) * 0.5 * (1 + math.cos(math.pi * step / (steps + 1)))
        logits = model(x.to(device))
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(vocab)), y.to(device).reshape(-1))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(loss.item())
        if step % print_every == 0 or step == steps:
            recent = losses[-print_every:]
            log(f"step {step:5d}  loss {sum(recent) / len(recent):.3f}  held-out "
                f"{evaluate(model, held_out, block, batch, device, rng):.3f}  "
                f"({(time.perf_counter() - start) / step * 1e3:.0f} ms/step)")
    if sample_length:
        log("sample:\n" + sample(model, vocab, "def ", sample_length, device, rng))
    return losses


def _positive(kind):
    def parse(text):
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m framework.examples.char_lm",
                                description="Train a character-level Transformer on a standard-library module.",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--steps", type=_positive(int), default=300, help="training steps")
    p.add_argument("--module", default="argparse", help="the standard-library module whose source is the text")
    p.add_argument("--block", type=_positive(int), default=64, help="context length in characters")
    p.add_argument("--batch", type=_positive(int), default=32, help="sequences per step")
    p.add_argument("--d-model", type=_positive(int), default=64, help="embedding width")
    p.add_argument("--heads", type=_positive(int), default=4, help="attention heads")
    p.add_argument("--layers", type=_positive(int), default=2, help="encoder layers")
    p.add_argument("--dropout", type=float, default=0.0, help="dropout in the encoder layers")
    p.add_argument("--activation", choices=("relu", "gelu"), default="relu", help="feed-forward activation")
    p.add_argument("--lr", type=_positive(float), default=3e-3, help="AdamW peak learning rate")
    p.add_argument("--print-every", type=_positive(int), default=25, help="steps between loss reports")
    p.add_argument("--sample-length", type=int, default=200, help="characters to generate at the end (0: none)")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    return train(**vars(args))


if __name__ == "__main__":
    main()
