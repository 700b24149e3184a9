# %% [markdown]
# # 3. Feedback alignment with a fixed low-rank channel stalls
#
# With feedback `B = Q P` of rank `r < d` fixed at random, the hidden layer only ever
# receives the error projected on the `r` rows of `P`. The paper (Sec. 3.1) shows the
# network then converges to `W2bar W1bar = S Pi`, where `Pi` projects onto the row space
# of `Pbar S`: a *random* r-dimensional projection of the task, not its top modes.

# %%
import matplotlib.pyplot as plt
import numpy as np

from lintheory import integrate, make_init, make_task
from lintheory.examples_support import quick_mode, save_example_figure
from lintheory.plots import mode_style

QUICK = quick_mode()

task = make_task(n=20, m=10, d=4, N=2000, seed=0)
r = 2
w0 = make_init(task, k=40, r=r, scale=1e-3, rng=np.random.default_rng(1))
times = np.geomspace(1e-2, 60 if QUICK else 200, 60)
traj = integrate(task, "fa", w0, times)

# %% [markdown]
# The prediction needs only the initial (fixed) `Pbar` and `S`:

# %%
PbarS = traj.P[0] @ task.S
Pi = np.linalg.pinv(PbarS) @ PbarS
pred = np.diag(task.S @ Pi)[: task.d] / task.s[: task.d]
print("final mode strengths :", np.round(traj.mode_strengths[-1], 3))
print("S Pi prediction      :", np.round(pred, 3))

fig, ax = plt.subplots(figsize=(6, 4))
for i in range(task.d):
    st = mode_style(i)
    ax.plot(times, traj.mode_strengths[:, i], color=st["color"], ls=st["ls"], lw=2.5,
            label=f"mode {i + 1}")
    ax.axhline(pred[i], color=st["color"], ls=(0, (3, 2)), lw=1, zorder=4)
ax.set_xscale("log")
ax.set_xlabel("time t")
ax.set_ylabel("mode strength $a_i(t)$")
ax.set_title(f"FA, fixed rank-{r} feedback: stalls at $S\\Pi$ (dashed)")
ax.legend(frameon=False)
save_example_figure(fig, "03_fa_low_rank_stalls")
plt.show()
