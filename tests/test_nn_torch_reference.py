"""Second implementation: the NumPy engine against torch autograd (skipped without torch).

Same weights copied into torch's own layers (Conv2d, MaxPool2d, MultiheadAttention,
LayerNorm, GELU); logits and every parameter gradient must agree in float64.
"""

import numpy as np
import pytest

from lintheory.nn import build_model, losses

torch = pytest.importorskip("torch")
nn = torch.nn


def _t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float64)


def _compare(model, tmodel, pairs, X, y):
    logits = model.forward(X, train=False)
    _, e = losses.softmax_cross_entropy(logits, y)
    model.backward(e)
    out = tmodel(_t(X))
    np.testing.assert_allclose(out.detach().numpy(), logits, rtol=1e-10, atol=1e-12)
    nn.functional.cross_entropy(out, torch.tensor(y)).backward()
    for p, tp, fix in pairs:
        np.testing.assert_allclose(p.grad, fix(tp.grad.numpy()), rtol=1e-8, atol=1e-12,
                                   err_msg=p.name)


def test_cnn_matches_torch():
    model = build_model("cnn", (1, 8, 8), 4, hidden=6, channels=(3, 4, 5),
                        rng=np.random.default_rng(0), dtype=np.float64)
    tm = nn.Sequential(
        nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(4, 5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(20, 6), nn.ReLU(), nn.Linear(6, 4)).double()
    tlayers = [m for m in tm if isinstance(m, (nn.Conv2d, nn.Linear))]
    pairs = []
    with torch.no_grad():
        for layer, tl in zip(model.weight_layers, tlayers):
            tl.weight.copy_(_t(layer.W.value))
            tl.bias.copy_(_t(layer.b.value))
            pairs += [(layer.W, tl.weight, lambda g: g), (layer.b, tl.bias, lambda g: g)]
    X = np.random.default_rng(1).normal(size=(6, 1, 8, 8))
    _compare(model, tm, pairs, X, np.array([0, 1, 2, 3, 1, 0]))


def test_vit_matches_torch():
    D, heads = 8, 2
    model = build_model("vit", (1, 4, 4), 3, dim=D, blocks=1, heads=heads,
                        rng=np.random.default_rng(0), dtype=np.float64)
    embed, res1, res2, ln_out, _, head = model.root.layers
    ln1, attn = res1.block.layers
    ln2, mlp1, _, mlp2 = res2.block.layers

    class TorchViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj, self.head = nn.Linear(4, D), nn.Linear(D, 3)
            self.cls = nn.Parameter(torch.zeros(1, 1, D))
            self.pos = nn.Parameter(torch.zeros(1, 5, D))
            self.ln1, self.ln2, self.ln = nn.LayerNorm(D), nn.LayerNorm(D), nn.LayerNorm(D)
            self.attn = nn.MultiheadAttention(D, heads, batch_first=True)
            self.mlp1, self.mlp2 = nn.Linear(D, 2 * D), nn.Linear(2 * D, D)

        def forward(self, x):
            B = x.shape[0]
            p = x.reshape(B, 1, 2, 2, 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(B, 4, 4)
            t = torch.cat([self.cls.expand(B, -1, -1), self.proj(p)], 1) + self.pos
            h = self.ln1(t)
            t = t + self.attn(h, h, h, need_weights=False)[0]
            t = t + self.mlp2(nn.functional.gelu(self.mlp1(self.ln2(t))))
            return self.head(self.ln(t)[:, 0])

    tm = TorchViT().double()
    same = lambda g: g
    pairs = []
    with torch.no_grad():
        for mine, theirs in ((embed.proj, tm.proj), (mlp1, tm.mlp1), (mlp2, tm.mlp2),
                             (head, tm.head), (attn.o, tm.attn.out_proj)):
            theirs.weight.copy_(_t(mine.W.value))
            theirs.bias.copy_(_t(mine.b.value))
            pairs += [(mine.W, theirs.weight, same), (mine.b, theirs.bias, same)]
        for mine, theirs in ((ln1, tm.ln1), (ln2, tm.ln2), (ln_out, tm.ln)):
            mine.g.value[...] = np.random.default_rng(5).normal(size=D)
            theirs.weight.copy_(_t(mine.g.value))
            theirs.bias.copy_(_t(mine.b.value))
            pairs += [(mine.g, theirs.weight, same), (mine.b, theirs.bias, same)]
        tm.cls.copy_(_t(embed.cls.value).reshape(1, 1, D))
        tm.pos.copy_(_t(embed.pos.value)[None])
        pairs += [(embed.cls, tm.cls, lambda g: g.reshape(D)),
                  (embed.pos, tm.pos, lambda g: g[0])]
        qkv = [attn.q, attn.k, attn.v]
        tm.attn.in_proj_weight.copy_(_t(np.concatenate([m.W.value for m in qkv])))
        tm.attn.in_proj_bias.copy_(_t(np.concatenate([m.b.value for m in qkv])))
        for i, m in enumerate(qkv):
            sl = slice(i * D, (i + 1) * D)
            pairs += [(m.W, tm.attn.in_proj_weight, lambda g, sl=sl: g[sl]),
                      (m.b, tm.attn.in_proj_bias, lambda g, sl=sl: g[sl])]
    X = np.random.default_rng(1).normal(size=(5, 1, 4, 4))
    _compare(model, tm, pairs, X, np.array([0, 1, 2, 1, 0]))
