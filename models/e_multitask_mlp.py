"""E — multi-task MLP (paper Table 5: 922k trainable, ~7.5 MB storage). TASKS binary heads, mean AUPR.

Categorical ids go through a frozen 15k × 64 embedding (pre-trained, shipped with the model).
"""

import torch
from torch import nn

from flint_bench.zoo import ModelDef

CATEGORIES, DIM, IDS, DENSE, TASKS = 15000, 64, 8, 64, 4


class MultiTaskMLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.categories = nn.Embedding(CATEGORIES, DIM)
        self.categories.weight.requires_grad_(False)
        self.shared = nn.Sequential(
            nn.Linear(DIM + DENSE, 1024), nn.ReLU(), nn.Linear(1024, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU()
        )
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 1)) for _ in range(TASKS))

    def forward(self, ids: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        h = self.shared(torch.cat([self.categories(ids).mean(dim=1), dense], dim=1))
        return torch.cat([head(h) for head in self.heads], dim=1)


def make_data(n: int, seed: int) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, CATEGORIES, (n, IDS), generator=g)
    dense = torch.randn(n, DENSE, generator=g)
    task_w = torch.linspace(-1, 1, DENSE * TASKS).reshape(DENSE, TASKS).roll(3, 0)  # fixed concept per task
    logits = dense @ task_w * 0.5 + (ids % 7 == 0).float().sum(1, keepdim=True) - 1.0
    return ids, dense, torch.bernoulli(torch.sigmoid(logits), generator=g)


def build() -> ModelDef:
    return ModelDef(
        name="E",
        description="multi-task MLP",
        task="multitask",
        net=MultiTaskMLP(),
        loss=nn.BCEWithLogitsLoss(),
        make_data=make_data,
        n_features=2,
        batch_size=32,
        lr=0.2,
    )
