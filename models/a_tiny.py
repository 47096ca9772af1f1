"""A — tiny neural net (paper Table 5: 1.51k trainable params). Binary classification, judged by AUPR."""

import torch
from torch import nn

from flint_bench.zoo import ModelDef

FEATURES = 30


def make_data(n: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Dense features; the label is a noisy logistic function of a fixed sparse direction."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, FEATURES, generator=g)
    w = torch.linspace(-1.5, 1.5, FEATURES) * (torch.arange(FEATURES) % 3 == 0)  # same concept for every seed
    y = torch.bernoulli(torch.sigmoid(x @ w + 0.3 * torch.randn(n, generator=g)), generator=g)
    return x, y


def build() -> ModelDef:
    net = nn.Sequential(nn.Linear(FEATURES, 48), nn.ReLU(), nn.Linear(48, 1), nn.Flatten(0))
    return ModelDef(
        name="A",
        description="tiny neural net",
        task="binary",
        net=net,
        loss=nn.BCEWithLogitsLoss(),
        make_data=make_data,
        n_features=1,
        batch_size=32,
        lr=0.1,
    )
