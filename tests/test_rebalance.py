"""Classifier re-training with balanced sampling on frozen embeddings."""

import torch
from torch import nn

from mushroom.rebalance import RebalanceConfig, retrain_head
from mushroom.taxonomy import GENERA


def _embeddings(n_big: int, n_rare: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    big, rare = GENERA.index("Boletus"), GENERA.index("Suillus")
    x = torch.randn(n_big + n_rare, 16, generator=gen)
    x[n_big:, 0] += 3.0  # the rare genus differs along one direction, with some overlap
    y = torch.tensor([big] * n_big + [rare] * n_rare)
    return x, y


def test_balanced_retraining_recovers_a_rare_genus_the_head_ignored():
    head = nn.Sequential(nn.Dropout(0.0), nn.Linear(16, len(GENERA)))
    with torch.no_grad():
        head[1].weight.zero_()
        head[1].bias.fill_(-5.0)
        head[1].bias[GENERA.index("Boletus")] = 5.0  # starts out calling everything Boletus
    before = head[1].weight.clone()
    train, val = _embeddings(400, 8, seed=0), _embeddings(100, 20, seed=1)
    cfg = RebalanceConfig(lr=0.2, epochs=8)
    new, history = retrain_head(head, train, val, cfg, log=lambda *_: None)
    assert [h["epoch"] for h in history] == list(range(9))
    assert history[0]["val_macro_f1"] < 0.5  # Suillus never predicted: its F1 is 0
    best = max(h["val_macro_f1"] for h in history)
    assert best > 0.85
    with torch.no_grad():
        pred = new.eval()(val[0]).argmax(1)
    rare = val[1] == GENERA.index("Suillus")
    assert (pred[rare] == GENERA.index("Suillus")).float().mean() > 0.6
    assert torch.equal(head[1].weight, before)  # the caller's head is left untouched


def test_retraining_keeps_the_start_when_no_epoch_beats_it():
    head = nn.Sequential(nn.Dropout(0.0), nn.Linear(16, len(GENERA)))
    train, val = _embeddings(50, 50, seed=2), _embeddings(50, 50, seed=3)
    cfg = RebalanceConfig(lr=0.0, epochs=2)  # lr 0: no epoch can improve
    new, history = retrain_head(head, train, val, cfg, log=lambda *_: None)
    assert torch.equal(new[1].weight, head[1].weight)
    assert len(history) == 3
