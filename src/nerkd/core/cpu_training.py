"""What training on a CPU does differently: two of PyTorch's CPU paths are slow for a
student this size, and each step paid for them (see bench/README.md).

* Dropout masks. PyTorch's CPU dropout draws one random number per element, serially, and
  a step has one dropout per layer output; ``QuickDropout`` splits each 32-bit draw into two
  15-bit numbers, so it draws half as many (the drop rate is ``p`` rounded to 1/32768).
* The word embeddings' gradient. It is dense, the size of the embedding matrix (47 MB for
  the embedded student), and allocated afresh by every backward pass: the system maps and
  zeroes new pages for it each step (~20 ms here, vs ~4 ms to zero memory already mapped).
  With ``keep_embedding_grad`` the lookup yields a sparse gradient, spread each step into one
  dense buffer kept for the run; clipping and AdamW see the same dense gradient as before.

GPUs are left alone: their dropout is one fused kernel, their allocator keeps memory.
"""

from __future__ import annotations

from typing import Any

import torch

_FIELD_BITS = 15  # two such fields fit in one 31-bit draw of torch's int32 random_()
_LEVELS = 1 << _FIELD_BITS


def quick_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """``x`` with each element zeroed with probability ``p`` (rounded to 1/32768) and the
    rest scaled to keep the mean, from torch's generator (seeded, checkpointed runs repeat)."""
    threshold = round(p * _LEVELS)
    if threshold == 0:
        return x
    if threshold == _LEVELS:  # everything dropped
        return x * 0.0
    count = x.numel()
    draws = torch.empty((count + 1) // 2, dtype=torch.int32).random_()
    fields = torch.cat([draws & (_LEVELS - 1), draws >> (_FIELD_BITS + 1)])[:count]
    keep = (fields >= threshold).view(x.shape).to(x.dtype)
    return x * keep.mul_(_LEVELS / (_LEVELS - threshold))


class QuickDropout(torch.nn.Dropout):
    """``torch.nn.Dropout`` drawing its masks with ``quick_dropout`` (same ``p``, same
    place in the model: anything that reads ``.p``, such as attention, still sees it)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        return quick_dropout(x, self.p)


def use_quick_dropout(network: torch.nn.Module) -> int:
    """Put a ``QuickDropout`` in place of every ``torch.nn.Dropout`` child; the count."""
    swapped = 0
    for module in list(network.modules()):
        for name, child in list(module.named_children()):
            if type(child) is torch.nn.Dropout:
                setattr(module, name, QuickDropout(child.p, child.inplace))
                swapped += 1
    return swapped


def keep_embedding_grad(network: Any) -> bool:
    """Make the input embeddings' gradient sparse and, once accumulated, spread it into one
    dense buffer kept for the run (a post-accumulate hook: the step sees a dense gradient).
    False where the input embeddings are not a plain ``torch.nn.Embedding``."""
    try:
        embeddings = network.get_input_embeddings()
    except NotImplementedError:  # a model class that does not say which they are
        return False
    if (not isinstance(embeddings, torch.nn.Embedding) or embeddings.sparse
            or not embeddings.weight.requires_grad):
        return False
    buffer = torch.zeros_like(embeddings.weight)

    def densify(weight: torch.Tensor) -> None:
        grad = weight.grad
        if grad is None or not grad.is_sparse:  # a dense path shares the weights: as it was
            return
        buffer.zero_()
        # Uncoalesced, so repeated ids add up in the order the dense backward adds them
        # (coalescing first sums them in another order: the last bits would differ).
        buffer.index_add_(0, grad._indices()[0], grad._values())
        weight.grad = buffer

    embeddings.weight.register_post_accumulate_grad_hook(densify)
    embeddings.sparse = True  # only once the hook is in place
    return True


def speed_up(network: Any, distributed: bool) -> None:
    """Both changes on ``network``, to be trained on a CPU (the gradient one not across
    processes: DDP would all-reduce the sparse gradient its own way)."""
    use_quick_dropout(network)
    if not distributed:
        keep_embedding_grad(network)
