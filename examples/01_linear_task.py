# %% [markdown]
# # 1. The linear teacher task and its SVD
#
# The theory of the paper (Hanut & Kadmon, Sec. 3) studies a two-layer *linear* network
# learning a linear teacher `y = A x + noise`. Everything about the learning dynamics is
# organised by the singular value decomposition of the input-output covariance
# `Sigma_yx = U S V^T`: each singular value `s_i` is a *mode* of the task.

# %%
import matplotlib.pyplot as plt
import numpy as np

from lintheory import make_task
from lintheory.examples_support import quick_mode, save_example_figure
from lintheory.plots import GREYS, mode_color

QUICK = quick_mode()

task = make_task(n=20, m=10, d=4, N=500 if QUICK else 5000, sigma=1.0,
                 singular_values=[4, 3, 2, 1], seed=0)
print("inputs X:", task.X.shape, " targets Y:", task.Y.shape)
print("singular values of Sigma_yx:", np.round(task.s, 3))

# %% [markdown]
# The first `d = 4` singular values are the signal (close to 4, 3, 2, 1); the rest come
# from the noise and shrink like `sqrt(m / N)`. Inputs are whitened, so the empirical
# input covariance is exactly the identity.

# %%
print("max |Sigma_xx - I| =", np.abs(task.Sigma_xx - np.eye(task.n)).max())

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
axes[0].imshow(task.Sigma_yx, cmap="RdBu_r")
axes[0].set_title(r"$\Sigma_{yx}$ (m x n)")
colors = [mode_color(0)] * task.d + [GREYS["grey"]] * (task.s.size - task.d)
axes[1].bar(np.arange(1, task.s.size + 1), task.s, color=colors)
axes[1].set_xlabel("mode i")
axes[1].set_ylabel("singular value $s_i$")
axes[1].set_title("signal (blue) and noise (grey)")
axes[2].imshow(task.U.T @ task.Sigma_yx @ task.V, cmap="RdBu_r")
axes[2].set_title(r"rotated: $U^T \Sigma_{yx} V = S$")
fig.tight_layout()
save_example_figure(fig, "01_linear_task")
plt.show()
