"""Per-epoch time of the NumPy engine against the same model in torch, in one run.

    python benchmarks/bench_nn.py [--threads 1] [--epochs 3] [--batch 32] [--models mlp,cnn,vit]

Data: scikit-learn's 8x8 digits (1,797 images; ships with scikit-learn). One epoch = one
shuffled pass in mini-batches: forward, softmax cross-entropy, backward, Adam step.
Both engines run the same architecture, batch size and thread count (threadpoolctl for
NumPy's BLAS, ``torch.set_num_threads`` for torch); the median epoch time is printed with
the ratio NumPy / torch. Without torch the torch column prints "skipped".
Goals (issue 4): ratio <= 1.5 for the MLP, <= 3 for the CNN.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from lintheory.nn import build_model, losses, optimisers

GOALS = {"mlp": 1.5, "cnn": 3.0, "vit": None}


def digits():
    d = load_digits()
    X = (d.data / 16.0).astype(np.float32)
    return X, d.target.astype(np.int64)


def shape_of(kind):
    return (64,) if kind == "mlp" else (1, 8, 8)


def numpy_epoch_times(kind, X, y, batch, epochs, rule="bp", rank=None):
    model = build_model(kind, shape_of(kind), 10, rule=rule, rank=rank,
                        rng=np.random.default_rng(0))
    opt = optimisers.Adam(model.params() + model.feedback_params(), lr=1e-3, amsgrad=True)
    Xs = X.reshape((-1,) + shape_of(kind))
    order = np.random.default_rng(1)
    T1 = losses.one_hot(y, 10)
    times = []
    for _ in range(epochs):
        idx = order.permutation(len(y))
        t0 = time.perf_counter()
        for b in range(0, len(y), batch):
            j = idx[b:b + batch]
            _, e = losses.softmax_cross_entropy(model.forward(Xs[j], train=True), y[j])
            opt.zero_grad()
            model.backward(e, targets_onehot=T1[j])
            opt.step()
        times.append(time.perf_counter() - t0)
    return times


def torch_model(kind):
    import torch
    from torch import nn

    if kind == "mlp":
        layers, d = [], 64
        for _ in range(4):
            layers += [nn.Linear(d, 256), nn.ReLU()]
            d = 256
        return nn.Sequential(*layers, nn.Linear(d, 10))
    if kind == "cnn":
        return nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1),
            nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(64 * 2 * 2, 128), nn.ReLU(),
            nn.Linear(128, 10))

    class Block(nn.Module):
        def __init__(self, dim=64, heads=4):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
            self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(),
                                     nn.Linear(2 * dim, dim))

        def forward(self, x):
            h = self.ln1(x)
            x = x + self.attn(h, h, h, need_weights=False)[0]
            return x + self.mlp(self.ln2(x))

    class ViT(nn.Module):
        def __init__(self, dim=64, depth=2):
            super().__init__()
            self.proj = nn.Linear(4, dim)
            self.cls = nn.Parameter(torch.zeros(1, 1, dim))
            self.pos = nn.Parameter(torch.zeros(1, 17, dim))
            self.blocks = nn.Sequential(*[Block(dim) for _ in range(depth)])
            self.ln = nn.LayerNorm(dim)
            self.head = nn.Linear(dim, 10)

        def forward(self, x):
            B = x.shape[0]
            p = x.reshape(B, 1, 4, 2, 4, 2).permute(0, 2, 4, 1, 3, 5).reshape(B, 16, 4)
            t = torch.cat([self.cls.expand(B, -1, -1), self.proj(p)], 1) + self.pos
            return self.head(self.ln(self.blocks(t))[:, 0])

    return ViT()


def torch_epoch_times(kind, X, y, batch, epochs, threads):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch_model(kind)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    Xt = torch.from_numpy(X.reshape((-1,) + shape_of(kind)))
    yt = torch.from_numpy(y)
    lossf = torch.nn.CrossEntropyLoss()
    order = np.random.default_rng(1)
    times = []
    for _ in range(epochs):
        idx = torch.from_numpy(order.permutation(len(y)))
        t0 = time.perf_counter()
        for b in range(0, len(y), batch):
            j = idx[b:b + batch]
            loss = lossf(model(Xt[j]), yt[j])
            opt.zero_grad()
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - t0)
    return times


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--models", default="mlp,cnn,vit")
    args = ap.parse_args(argv)
    X, y = digits()
    try:
        import torch
        has_torch = True
        tv = torch.__version__
    except ImportError:
        has_torch, tv = False, None
    print(f"digits N={len(y)}, batch={args.batch}, threads={args.threads}, "
          f"epochs={args.epochs} (median), numpy {np.__version__}, torch {tv or 'absent'}")
    print(f"{'model':5s} {'numpy bp s':>11s} {'numpy raf10 s':>14s} {'torch s':>9s} "
          f"{'ratio':>7s} {'goal':>6s}")
    with threadpool_limits(limits=args.threads):
        for kind in args.models.split(","):
            t_np = float(np.median(numpy_epoch_times(kind, X, y, args.batch, args.epochs)))
            t_raf = float(np.median(numpy_epoch_times(kind, X, y, args.batch, args.epochs,
                                                      rule="raf", rank=10 if kind != "cnn"
                                                      else [16, 32, 10, 10])))
            if has_torch:
                t_t = float(np.median(torch_epoch_times(kind, X, y, args.batch, args.epochs,
                                                        args.threads)))
                tt, ratio = f"{t_t:9.3f}", f"{t_np / t_t:7.2f}"
            else:
                tt, ratio = "  skipped", "      -"
            goal = GOALS.get(kind)
            print(f"{kind:5s} {t_np:11.3f} {t_raf:14.3f} {tt} {ratio} "
                  f"{'<=' + str(goal) if goal else '-':>6s}")


if __name__ == "__main__":
    main()
