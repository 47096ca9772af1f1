"""D — CNN over a large frozen word embedding (paper Table 5: 390k trainable, ~10.8 MB storage). Binary, AUPR.

The 36k × 64 embedding table is frozen (pre-trained, shipped with the model, never uploaded): it is
why the training program stores ~10.8 MB while a client uploads only the 390k trainable params.
Convolutions are Conv2d over (1, L): ExecuTorch 1.5's portable conv backward rejects Conv1d.
"""

import torch
from torch import nn

from flint_bench.zoo import ModelDef

VOCAB, DIM, LENGTH, CHANNELS, HIDDEN = 36000, 64, 20, 128, 2430


class TextCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.words = nn.Embedding(VOCAB, DIM)
        self.words.weight.requires_grad_(False)
        self.conv1 = nn.Conv2d(DIM, CHANNELS, (1, 3), padding=(0, 1))
        self.conv2 = nn.Conv2d(CHANNELS, CHANNELS, (1, 3), padding=(0, 1))
        self.head = nn.Sequential(nn.Linear(CHANNELS, HIDDEN), nn.ReLU(), nn.Linear(HIDDEN, 1))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.words(tokens).transpose(1, 2).unsqueeze(2)  # (N, DIM, 1, L)
        x = torch.relu(self.conv2(torch.relu(self.conv1(x))))
        return self.head(x.amax(dim=(2, 3))).squeeze(1)


def make_data(n: int, seed: int) -> tuple[torch.Tensor, ...]:
    """Token sequences; positive documents contain more tokens from a fixed 'topic' set."""
    g = torch.Generator().manual_seed(seed)
    y = torch.bernoulli(torch.full((n,), 0.3), generator=g)
    tokens = torch.randint(0, VOCAB, (n, LENGTH), generator=g)
    topic = torch.randint(0, 500, (n, LENGTH), generator=g)  # ids 0..499 are the topic words
    use_topic = torch.rand(n, LENGTH, generator=g) < (0.05 + 0.55 * y[:, None])
    return torch.where(use_topic, topic, tokens), y


def build() -> ModelDef:
    return ModelDef(
        name="D",
        description="CNN with large embedding",
        task="binary",
        net=TextCNN(),
        loss=nn.BCEWithLogitsLoss(),
        make_data=make_data,
        n_features=1,
        batch_size=16,
        lr=0.05,
    )
