# %% [markdown]
# # 4. RAF: Oja's rule finds the error subspace, and the network learns the top r modes
#
# Restricted Adaptive Feedback lets `P` learn by Oja's subspace rule on the target
# covariance, `dP/dt = P Sigma_yy (I - P^T P)`. Its stable fixed points are orthonormal
# rows spanning the top-r eigenvectors of `Sigma_yy`; in the rotated frame these are the
# strongest modes of the task, so RAF with rank r learns exactly the r strongest modes.
# Watch mode r+1: while `P` is still turning towards the top-r subspace the hidden layer
# picks up a little of it, and the transient dies out once the channel has settled.

# %%
import matplotlib.pyplot as plt
import numpy as np

from lintheory import integrate, make_init, make_task
from lintheory.examples_support import quick_mode, save_example_figure
from lintheory.plots import mode_style

QUICK = quick_mode()

task = make_task(n=20, m=10, d=4, N=2000, seed=0)
times = np.geomspace(1e-2, 40 if QUICK else 200, 60)
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
for ax, r in zip(axes[:2], (2, 3)):
    w0 = make_init(task, k=40, r=r, scale=1e-3, rng=np.random.default_rng(1))
    traj = integrate(task, "raf", w0, times)
    for i in range(task.d):
        st = mode_style(i)
        ax.plot(times, traj.mode_strengths[:, i], color=st["color"], ls=st["ls"], lw=2.5,
                label=f"mode {i + 1}")
    ax.set_xscale("log")
    ax.set_title(f"RAF, rank r = {r}")
    ax.set_xlabel("time t")
    ax.set_ylabel("mode strength $a_i(t)$")
    ax.legend(frameon=False)

    # Subspace found by Oja vs numpy's eigenvectors of Sigma_yy_bar
    evals, evecs = np.linalg.eigh(task.Sigma_yy_bar)
    top = evecs[:, ::-1][:, :r]
    Pbar = traj.P[-1]
    overlap = np.linalg.svd(Pbar @ top, compute_uv=False)  # cosines of principal angles
    print(f"r={r}: |Pbar Pbar^T - I| = {np.abs(Pbar @ Pbar.T - np.eye(r)).max():.2e}, "
          f"principal-angle cosines with top-{r} eigenvectors: {np.round(overlap, 6)}")

ax = axes[2]
ax.imshow(np.abs(Pbar), cmap="Greys", aspect="auto")
ax.set_title(r"$|\bar P|$ after learning (r = 3): only the top-3 modes")
ax.set_yticks(range(Pbar.shape[0]))
ax.set_xticks(range(Pbar.shape[1]))
ax.set_xticklabels(range(1, Pbar.shape[1] + 1))
ax.set_xlabel("output mode")
ax.set_ylabel("row of P")
fig.tight_layout()
save_example_figure(fig, "04_oja_finds_error_subspace")
plt.show()
