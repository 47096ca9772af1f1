"""The model zoo reproduces the paper's Table 5 archetypes and learns from its synthetic data."""

import pytest
import torch

from flint_bench.export import export_model
from flint_bench.zoo import load_model, load_models

# Table 5: trainable params, storage MB of the training program
TABLE5 = {"A": (1_510, None), "B": (189_000, None), "C": (208_000, None), "D": (390_000, 10.79), "E": (922_000, 7.52)}


@pytest.mark.parametrize("name", sorted(TABLE5))
def test_trainable_params_within_3_percent_of_table5(name):
    model = load_model(name)
    target, _ = TABLE5[name]
    assert abs(model.trainable_params - target) / target <= 0.03, model.trainable_params


@pytest.mark.parametrize("name", ["D", "E"])
def test_frozen_parameters_give_table5_storage(name):
    art = export_model(load_model(name))
    storage_mb = art.manifests["executorch-training"].bytes / 1e6
    assert abs(storage_mb - TABLE5[name][1]) / TABLE5[name][1] <= 0.30, storage_mb
    m = art.manifests["executorch-training"]
    assert m.total_params > m.trainable_params  # frozen table is stored, not uploaded
    assert m.update_bytes == m.trainable_params * 4


@pytest.mark.parametrize("name", sorted(TABLE5))
def test_data_is_deterministic_and_shaped_for_the_net(name):
    model = load_model(name)
    a, b = model.make_data(64, seed=3), model.make_data(64, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=False))
    assert not torch.equal(a[0], model.make_data(64, seed=4)[0])
    loss, predictions = model.training_module()(*a)
    assert loss.ndim == 0 and predictions.shape[0] == 64


def test_every_task_kind_has_a_metric():
    from flint_bench.simulator.metrics import PRIMARY_METRIC, evaluate

    for model in load_models(None):
        batch = model.make_data(256, 0)
        with torch.no_grad():
            predictions = model.net(*model.features(batch))
        labels = model.labels(batch)[0]
        assert PRIMARY_METRIC[model.task] in evaluate(model.task, predictions, labels)


def test_unknown_model_lists_the_names_users_type():
    from flint_bench.core.errors import UserError

    with pytest.raises(UserError) as e:
        load_model("Z")
    message = str(e.value)
    assert "Known models: A (a_tiny), B (b_sparse_mlp), C (c_ranking_mlp), D (d_cnn_embedding), E (e_multitask_mlp)." in message
    # each name listed is one load_model accepts, and gives the model of that name
    for name in ("A", "b", "c_ranking_mlp"):
        assert load_model(name).name == name[0].upper()
