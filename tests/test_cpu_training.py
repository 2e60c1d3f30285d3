"""The CPU training paths: quicker dropout masks, and the word embeddings' gradient spread
into a kept buffer. Both must train exactly what the stock paths train, in distribution
(dropout) or to the bit (the gradient)."""

from __future__ import annotations

import copy
import math

import pytest

torch = pytest.importorskip("torch")

from nerkd.core.cpu_training import (  # noqa: E402
    QuickDropout,
    keep_embedding_grad,
    quick_dropout,
    use_quick_dropout,
)


def test_quick_dropout_drops_at_the_rate_asked_and_keeps_the_mean():
    torch.manual_seed(0)
    count, p = 1_000_000, 0.1
    out = quick_dropout(torch.ones(count), p)
    dropped = (out == 0).double().mean().item()
    rate = round(p * 32768) / 32768
    assert abs(dropped - rate) < 4 * math.sqrt(rate * (1 - rate) / count)
    kept = out[out != 0]
    assert torch.all(kept == kept[0]) and kept[0].item() == pytest.approx(1 / (1 - rate))
    assert out.mean().item() == pytest.approx(1.0, abs=0.003)


def test_the_two_numbers_of_one_draw_drop_independently():
    # Elements i and i + n/2 share a 32-bit draw: each half of it must decide on its own.
    torch.manual_seed(1)
    count, p = 1_000_000, 0.3
    dropped = quick_dropout(torch.ones(count), p) == 0
    first, second = dropped[: count // 2], dropped[count // 2:]
    both = (first & second).double().mean().item()
    assert abs(both - p * p) < 4 * math.sqrt(p * p * (1 - p * p) / (count // 2))
    assert abs(first.double().mean().item() - second.double().mean().item()) < 0.005


def test_quick_dropout_repeats_with_the_seed_and_its_gradient_is_the_mask():
    x = torch.randn(3, 7, 11, requires_grad=True)
    torch.manual_seed(5)
    first = quick_dropout(x, 0.25)
    torch.manual_seed(5)
    again = quick_dropout(x, 0.25)
    assert torch.equal(first, again) and first.shape == x.shape
    first.sum().backward()
    expected = torch.where(first == 0, 0.0, first / x)  # the scale where kept, 0 where dropped
    assert torch.allclose(x.grad, expected)
    assert 0 < (first == 0).sum() < x.numel()


def test_quick_dropout_module_is_inert_in_eval_mode_and_at_zero():
    x = torch.randn(4, 5)
    layer = QuickDropout(0.5).eval()
    assert layer(x) is x
    assert QuickDropout(0.0).train()(x) is x
    assert quick_dropout(x, 1e-6) is x  # rounds to no drop at all
    assert torch.equal(quick_dropout(x, 1.0), torch.zeros_like(x))


def _tiny_bert(dropout: float) -> torch.nn.Module:
    from transformers import BertConfig, BertForTokenClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, num_labels=5, hidden_dropout_prob=dropout,
                        attention_probs_dropout_prob=dropout)
    return BertForTokenClassification(config)


def test_every_dropout_module_is_swapped_and_the_model_still_trains():
    network = _tiny_bert(0.1)
    stock = sum(type(m) is torch.nn.Dropout for m in network.modules())
    assert use_quick_dropout(network) == stock > 0
    assert not any(type(m) is torch.nn.Dropout for m in network.modules())
    # Attention reads its dropout's p and passes it on: still there.
    assert network.bert.encoder.layer[0].attention.self.dropout.p == 0.1
    ids = torch.randint(1, 300, (2, 6))
    network.train()(input_ids=ids, labels=torch.zeros_like(ids)).loss.backward()
    network.eval()
    with torch.no_grad():  # no dropout in eval: two passes agree
        assert torch.equal(network(input_ids=ids).logits, network(input_ids=ids).logits)


def test_kept_embedding_gradient_equals_the_stock_one_in_one_buffer():
    stock = _tiny_bert(0.0)
    kept = copy.deepcopy(stock)
    assert keep_embedding_grad(kept)
    assert not keep_embedding_grad(kept)  # once is enough: already sparse
    frozen = copy.deepcopy(stock)
    frozen.get_input_embeddings().weight.requires_grad_(False)
    assert not keep_embedding_grad(frozen) and not frozen.get_input_embeddings().sparse
    ids = torch.randint(1, 300, (4, 9))
    ids[:, 0], ids[:, -1] = 101, 102  # like [CLS] and [SEP]: ids repeated in every row
    ids[0, -4:-1] = 0  # padding: no gradient for its row, either way
    grads = []  # held, so a fresh allocation could not come back at the same address
    for _ in range(3):
        labels = torch.randint(0, 5, ids.shape)
        for network in (stock, kept):
            network.zero_grad(set_to_none=True)
            network(input_ids=ids, labels=labels).loss.backward()
        grad = kept.get_input_embeddings().weight.grad
        assert not grad.is_sparse
        assert torch.equal(grad, stock.get_input_embeddings().weight.grad)
        grads.append(grad)
    assert all(g is grads[0] for g in grads)
    assert kept.get_input_embeddings().sparse  # the lookup itself yields a sparse gradient
