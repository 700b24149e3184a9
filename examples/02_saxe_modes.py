# %% [markdown]
# # 2. Backpropagation learns the modes in order of strength (Saxe et al. 2013)
#
# From small, balanced, mode-aligned initial weights, each mode of a two-layer linear
# network trained by gradient flow follows `da/dt = 2 a (s - a)`: a sigmoid that rises
# at a time ~ `log(s/a0) / (2 s)`. Strong modes are learned first.

# %%
import matplotlib.pyplot as plt
import numpy as np

from lintheory import balanced_init, integrate, make_task
from lintheory.examples_support import quick_mode, save_example_figure
from lintheory.plots import REFERENCE, mode_style

QUICK = quick_mode()

task = make_task(n=20, m=10, d=4, N=500 if QUICK else 5000, seed=0)
w0 = balanced_init(task, k=40, r=task.m, scale=1e-2, rng=np.random.default_rng(1))
times = np.linspace(0, 8, 41 if QUICK else 161)
traj = integrate(task, "bp", w0, times, rtol=1e-10, atol=1e-12)

# %% [markdown]
# The closed form, un-normalised strength `a = s a_i`, starting at `a0 = scale^2`:

# %%
a0 = 1e-2**2
s = task.s[: task.d]
closed = s * np.exp(2 * s * times[:, None]) / (np.exp(2 * s * times[:, None]) - 1 + s / a0) / s
print("max |ODE - closed form| =", np.abs(traj.mode_strengths - closed).max())

fig, ax = plt.subplots(figsize=(6, 4))
for i in range(task.d):
    st = mode_style(i)
    ax.plot(times, traj.mode_strengths[:, i], color=st["color"], ls=st["ls"], lw=2.5,
            label=f"mode {i + 1}, s = {s[i]:.2f}")
    ax.plot(times, closed[:, i], **REFERENCE)
ax.set_xlabel("time t")
ax.set_ylabel("mode strength $a_i(t)$")
ax.set_title("BP: ODE (colour) and Saxe closed form (black dashed)")
ax.legend(frameon=False)
save_example_figure(fig, "02_saxe_modes")
plt.show()
