"""Pure maths and client training: taskDuration, the strategies' weights and server step, FedAvg weighting == a centralized step."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from flint_bench.simulator.clock import Aggregation
from flint_bench.simulator.config import FedAvg, FedBuff
from flint_bench.simulator.population import mbit_to_bytes_per_s, task_duration
from flint_bench.simulator.strategies import FedAvgStrategy, FedBuffStrategy, client_lr, staleness_weight


def aggregation(n: int, staleness: list[int] | None = None) -> Aggregation:
    stale = np.asarray(staleness if staleness is not None else [0] * n, dtype=np.int64)
    return Aggregation(index=9, time_s=0.0, clients=np.arange(n), start_versions=9 - stale, staleness=stale)


def test_task_duration_hand_computed():
    # t = 2 ms/example, E = 3, |Dk| = 50 records, M = 1.5 MB, N = 8 Mbit/s = 1e6 B/s
    # 0.002*3*50 = 0.3 s of training + 2*1.5e6/1e6 = 3 s of network -> 3.3 s
    assert task_duration(0.002, 3, 50, 1.5e6, mbit_to_bytes_per_s(8.0)) == pytest.approx(3.3)
    # model C-like: t = 0.652 ms, E = 1, |Dk| = 2, M = 0.85 MB (850_000 B), N = 12.99 Mbit/s
    n = 12.99e6 / 8
    assert task_duration(0.000652, 1, 2, 850_000, n) == pytest.approx(0.001304 + 1_700_000 / n)
    # vectorised over clients
    got = task_duration(np.array([1.0, 0.5]), 2, np.array([10, 4]), 1000.0, np.array([1000.0, 500.0]))
    np.testing.assert_allclose(got, [1.0 * 2 * 10 + 2.0, 0.5 * 2 * 4 + 4.0])


def test_staleness_weight_and_fedbuff_sum():
    np.testing.assert_allclose(staleness_weight([0, 3, 8]), [1.0, 0.5, 1 / 3])
    deltas = np.array([[1.0, 0.0], [0.0, 2.0], [4.0, 4.0]])
    # (1*d0 + 0.5*d1 + (1/3)*d2) / K with K = 3; the records do not matter
    expected = (deltas[0] + 0.5 * deltas[1] + deltas[2] / 3) / 3
    fedbuff = FedBuffStrategy(FedBuff(concurrency=5, buffer=3, max_staleness=8))
    weights = fedbuff.client_weights(aggregation(3, [0, 3, 8]), np.array([5, 1, 9]))
    np.testing.assert_allclose(weights @ deltas, expected)
    assert fedbuff.versions_kept == 8  # a client may still start from a model 8 versions old


def test_fedavg_weights_by_records_and_server_step():
    fedavg = FedAvgStrategy(FedAvg(), server_lr=0.5)
    weights = fedavg.client_weights(aggregation(2), np.array([1, 3]))
    np.testing.assert_allclose(weights, [0.25, 0.75])
    np.testing.assert_allclose(weights @ np.array([[4.0], [8.0]]), [7.0])
    torch.testing.assert_close(fedavg.server_step(torch.tensor([1.0]), torch.tensor([7.0])), torch.tensor([4.5]))
    assert fedavg.versions_kept == 0  # every client starts on the newest model


def test_lr_schedules():
    assert client_lr(0.1, "constant", 99, 100) == 0.1
    assert client_lr(0.1, "cosine", 0, 100) == pytest.approx(0.1)
    assert client_lr(0.1, "cosine", 50, 100) == pytest.approx(0.05)
    assert client_lr(0.1, "step", 120, 100, step_every=50, gamma=0.5) == pytest.approx(0.025)


def _executor(model_name: str, sizes: list[int], chunk: int, seed: int = 3):
    from flint_bench.simulator.partitions import MemoryRows
    from flint_bench.simulator.training import Executor
    from flint_bench.zoo import load_model

    model = load_model(model_name)
    tensors = model.make_data(sum(sizes), seed)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    return model, tensors, offsets, Executor(model, MemoryRows(tensors, offsets), 0, chunk)


@pytest.mark.parametrize("model_name", ["A", "C"])
@pytest.mark.parametrize("chunk", [0, 4])
def test_fedavg_every_client_one_full_batch_step_equals_centralized_step(model_name, chunk):
    """FedAvg over all clients, E=1, one full-batch step each, weights |Dk|/N == one SGD step on the pooled data."""
    from flint_bench.simulator.training import get_flat, set_flat

    sizes = [3, 1, 7, 2, 7, 5]
    model, tensors, _offsets, ex = _executor(model_name, sizes, chunk)
    start = get_flat(model.net)
    lr = 0.3
    clients = np.arange(len(sizes))
    delta = ex.weighted_delta_sum(
        clients,
        start[None],
        np.zeros(len(sizes), dtype=int),
        FedAvgStrategy(FedAvg()).client_weights(aggregation(len(sizes)), np.array(sizes)),
        lr,
        1,
        0,
        (0, 0, 0),
    )
    federated = start + delta

    set_flat(model.net, start)
    nf = model.n_features
    loss = model.loss(model.net(*tensors[:nf]), *tensors[nf:])  # mean over all pooled rows
    params = [p for p in model.net.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params)
    centralized = start - lr * torch.cat([g.reshape(-1) for g in grads])
    torch.testing.assert_close(federated, centralized, rtol=1e-5, atol=2e-6)
    # the unweighted mean would differ: the weighting matters
    unweighted = start + ex.weighted_delta_sum(
        clients, start[None], np.zeros(len(sizes), dtype=int), np.full(len(sizes), 1 / len(sizes)), lr, 1, 0, (0, 0, 0)
    )
    assert not torch.allclose(unweighted, centralized, atol=1e-6)


@pytest.mark.parametrize("model_name", ["A", "B"])
def test_vmap_chunks_equal_one_model_in_place(model_name):
    """Batched clients through vmap give the same deltas as the in-place per-client loop (minibatches, 2 epochs)."""
    sizes = [5, 5, 9, 1, 9, 9, 20]
    model, tensors, offsets, loop = _executor(model_name, sizes, 0)
    from flint_bench.simulator.partitions import MemoryRows
    from flint_bench.simulator.training import Executor, get_flat

    vm = Executor(model, MemoryRows(tensors, offsets), 0, 2, vmap_max_params=10**9)
    assert vm.use_vmap
    start = get_flat(model.net)
    starts = torch.stack([start, start * 0.9])
    idx = np.array([0, 1, 0, 1, 1, 0, 1])
    w = np.linspace(0.1, 1.0, len(sizes))
    args = (np.arange(len(sizes)), starts, idx, w, 0.05, 2, 4, (1, 2, 3))
    torch.testing.assert_close(vm.weighted_delta_sum(*args), loop.weighted_delta_sum(*args), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("model_name", ["B", "C"])
def test_single_step_batched_path_equals_one_model_in_place(model_name):
    """Clients with E=1 and |Dk| <= B take one weighted backward pass together; same sum as training each alone."""
    from flint_bench.simulator.partitions import MemoryRows
    from flint_bench.simulator.training import Executor, get_flat

    sizes = [1, 2, 1, 3, 16, 1, 5, 2]
    model, tensors, offsets, loop = _executor(model_name, sizes, 0)
    batched = Executor(model, MemoryRows(tensors, offsets), 0, 8)
    start = get_flat(model.net)
    starts = torch.stack([start, start + 0.01 * torch.randn(start.shape, generator=torch.Generator().manual_seed(1))])
    idx = np.array([0, 1, 1, 0, 1, 0, 0, 1])
    w = np.linspace(0.2, 1.0, len(sizes))
    args = (np.arange(len(sizes)), starts, idx, w, 0.1, 1, 16, (0, 0, 0))
    torch.testing.assert_close(batched.weighted_delta_sum(*args), loop.weighted_delta_sum(*args), rtol=1e-4, atol=1e-6)


def test_proxy_quantity_and_label_skew():
    from flint_bench.simulator.config import Proxy
    from flint_bench.simulator.proxy import build_proxy, slice_partition
    from flint_bench.zoo import load_model

    model = load_model("A")
    iid = build_proxy(model, Proxy(clients=3000, mean_records=20, std_records=40, max_records=1000, holdout=100), 0)
    q = iid.metadata["quantity"]
    assert q["mean"] == pytest.approx(20, rel=0.1) and q["std"] == pytest.approx(40, rel=0.25) and q["max"] <= 1000
    assert iid.offsets[-1] == len(iid.tensors[0]) and (np.diff(iid.offsets) >= 1).all()
    skew = build_proxy(
        model, Proxy(clients=3000, mean_records=20, std_records=40, max_records=1000, holdout=100, label_alpha=0.1), 0
    )
    assert skew.metadata["labels"]["label_ratio"] == pytest.approx(iid.metadata["labels"]["label_ratio"])  # same rows, regrouped
    assert skew.metadata["labels"]["client_positive_share_std"] > 2 * iid.metadata["labels"]["client_positive_share_std"]
    other = build_proxy(model, Proxy(clients=3000, mean_records=20, std_records=40, max_records=1000, holdout=100, version=1), 0)
    assert not np.array_equal(other.offsets, iid.offsets)  # another version of the proxy
    rows, offsets = slice_partition(iid, 1000, 2000)
    assert len(rows[0]) == offsets[-1] == iid.offsets[2000] - iid.offsets[1000]


def test_forecast_from_counters():
    """The paper's Task C example: 610k uploads in 48 h = 3.53 updates/s; times the update size = MB/s."""
    from flint_bench.simulator.clock import Counters
    from flint_bench.simulator.forecast import forecast, spread

    c = Counters(compute_s_by_class=[3600.0 * 10, 3600.0 * 5], compute_s=3600.0 * 15)
    for h in range(48):
        for _ in range(12708 if h < 47 else 610_000 - 47 * 12708):
            c.upload_at(h * 3600.0 + 1.0)
    f = forecast(c, 48 * 3600.0, 760_000, ["new", "old"])
    assert f["aggregator_updates_per_s"] == pytest.approx(3.53, abs=0.005)
    assert f["aggregator_mb_per_s"] == pytest.approx(3.53 * 0.76, abs=0.005)
    assert f["peak_hour_updates_per_s"] == pytest.approx((610_000 - 47 * 12708) / 3600)  # the last, fullest hour
    assert f["client_compute_hours"] == 15.0 and f["compute_hours_by_class"] == {"new": 10.0, "old": 5.0}
    assert spread([3.0, None, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "n": 3}


@pytest.mark.parametrize("model_name", ["A", "B", "C", "D", "E"])
def test_per_row_losses_average_to_the_models_batch_loss(model_name):
    """The single-step path weights rows by per-row losses: declared, derived from the loss module, or vmap."""
    from flint_bench.simulator.training import row_losses
    from flint_bench.zoo import load_model

    model = load_model(model_name)
    batch = model.make_data(12, 3)
    nf = model.n_features
    with torch.no_grad():
        pred = model.net(*batch[:nf])
        rows = row_losses(model)(pred, *batch[nf:])
        assert rows.shape == (12,)
        torch.testing.assert_close(rows.mean(), model.loss(pred, *batch[nf:]))
        # each row's loss is that row alone as a batch of one
        torch.testing.assert_close(rows[5], model.loss(pred[5:6], *(t[5:6] for t in batch[nf:])))
