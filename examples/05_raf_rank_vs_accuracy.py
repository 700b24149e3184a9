# %% [markdown]
# # 5. RAF on a nonlinear network: test accuracy vs feedback rank
#
# The linear theory says a rank-r error channel learns (at most) r modes of the task.
# A classifier with 10 classes has an output error that lives in 10 dimensions, so the
# paper (Sec. 5, Fig. 3, on CIFAR-10) finds that Restricted Adaptive Feedback with rank
# r >= 10 in every layer matches backprop, and lower ranks fall below it.
#
# Here: the same experiment, small enough for a laptop CPU. A 3 x 128 ReLU MLP on
# scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes), **not CIFAR**,
# trained by the NumPy engine `lintheory.nn` with BP and with RAF of rank 1, 2, 4 and
# 10 in all layers (each layer's error reaches the layer below through `B = Q P`).

# %%
import matplotlib.pyplot as plt
import numpy as np
from threadpoolctl import threadpool_limits

from lintheory.examples_support import quick_mode, save_example_figure
from lintheory.nn.data import load_dataset
from lintheory.nn.train import TrainConfig, train
from lintheory.plots import BAND, GREYS, REFERENCE, mode_color

QUICK = quick_mode()

# The matrices here are tiny: one BLAS thread is faster (up to 5x on a busy machine) and
# gives the same numbers whatever the number of cores (threaded sums change the order
# of float32 additions, and training amplifies the difference).
threadpool_limits(limits=1, user_api="blas")

ranks = (1, 10) if QUICK else (1, 2, 4, 10)
seeds = (0,) if QUICK else (0, 1, 2)
base = TrainConfig(model="mlp", hidden=64 if QUICK else 128, depth=3,
                   epochs=2 if QUICK else 20, lr=3e-3, feedback_lr=1e-2)
data = load_dataset("digits", shape="flat")
print(f"digits: {len(data.y_train)} train / {len(data.y_val)} validation / "
      f"{len(data.y_test)} test images, {data.n_classes} classes")

runs = {"BP": base.replace(rule="bp"), **{r: base.replace(rule="raf", rank=r) for r in ranks}}
results = {name: [train(cfg.replace(seed=s), data=data, progress=True) for s in seeds]
           for name, cfg in runs.items()}


def final_acc(name):
    """Final test accuracy of each seed."""
    return np.array([h["test_acc"][-1] for h in results[name]])


for name in results:
    label = name if name == "BP" else f"RAF r={name}"
    acc = final_acc(name)
    print(f"{label:>9}: test accuracy {acc.mean():.3f} +- {acc.std():.3f} "
          f"({len(seeds)} seeds)")

# %% [markdown]
# What to look at: accuracy climbs with the rank, and at r = 10, the number of classes,
# RAF comes within about a point of BP's line (`lintheory figure3` runs more ranks,
# layer by layer, class subsets and dRAF). The right panel shows the
# angle between each layer's learned feedback `Q P` and the forward weights `W^T` it
# replaces. The angles stay large (90 degrees would be no alignment at all): as in
# feedback alignment, the forward weights learn to use the error they are sent, so the
# feedback never has to equal `W^T`; and a rank-r `Q P` cannot equal a full-rank `W^T`
# anyway. Higher rank gives smaller angles, most clearly at the output layer, whose
# error has exactly 10 dimensions. Layer names are those of `Model.feedback_layers`
# (the first layer never sends an error back, so it has no feedback).

# %%
layers = [f["name"] for f in results[ranks[0]][0]["feedback"]]
angles = np.array([[[f["angle_deg"] for f in h["feedback"]] for h in results[r]]
                   for r in ranks]).mean(axis=1)         # (rank, layer), mean over seeds

fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
ax = axes[0]
acc = np.array([final_acc(r) for r in ranks])
ax.errorbar(ranks, acc.mean(1), yerr=acc.std(1), fmt="o-", lw=2.5, ms=8, capsize=4,
            color=mode_color(0), label="RAF, rank r in all layers")
bp = final_acc("BP")
ax.axhline(bp.mean(), **(REFERENCE | {"lw": 1.5}), label="BP")
ax.axhspan(bp.mean() - bp.std(), bp.mean() + bp.std(), **BAND)
ax.axvline(data.n_classes, color=GREYS["light grey"], lw=1, zorder=0,
           label="r = number of classes")
ax.set_xscale("log", base=2)
ax.set_xticks(ranks, [str(r) for r in ranks])
ax.set_xlabel("feedback rank r")
ax.set_ylabel(f"test accuracy (mean +- std, {len(seeds)} seeds)")
ax.set_title(f"digits (8x8, CPU), MLP 3 x {base.hidden}, {base.epochs} epochs")
ax.legend(frameon=False, loc="lower right")

ax = axes[1]
width = 0.8 / len(ranks)
x = np.arange(len(layers))
for i, r in enumerate(ranks):
    ax.bar(x + (i - (len(ranks) - 1) / 2) * width, angles[i], width, color=mode_color(i),
           hatch=("", "//", "..", "xx", "\\\\", "--")[i % 6], edgecolor="white",
           label=f"r = {r}")
ax.set_xticks(x, layers)
ax.axhline(90, color=GREYS["light grey"], lw=1, zorder=0)
ax.set_ylim(0, 115)
ax.set_xlabel("layer whose $W^T$ the feedback $QP$ replaces")
ax.set_ylabel(r"angle between $QP$ and $W^T$ (degrees)")
ax.set_title("alignment of the learned feedback (90 = none; mean over seeds)")
ax.legend(frameon=False, ncol=len(ranks), loc="upper center")
fig.tight_layout()
save_example_figure(fig, "05_raf_rank_vs_accuracy")
plt.show()
