"""Frozen-prefix reuse (``train.reuse_frozen_prefix``): the bottom blocks of an encoder that hold
no trainable parameter compute the same outputs every epoch, so each example's output of that
frozen prefix is computed once, kept, and fed to the top blocks from then on.

The prefix is the embeddings plus the bottom ``k`` blocks, ``k`` counted from the bottom up to
the first block with a trainable parameter (method ``freeze`` with ``layers: 2`` on a 6-block
MiniLM: ``k = 4``; LoRA or adapters restricted to the top blocks with ``method.layers``). An
example's states are computed the first time a batch holds it (training, validation or test),
in eval mode and without gradients, and stored unpadded, keyed by its token ids: in memory up to
``train.prefix_cache_mb``, the rest in a file under the cache folder (``PEFTGOV_CACHE``,
``~/.cache/peftgov``) that is unlinked as soon as it is mapped, so nothing is left on disk when
the process ends, however it ends.

The one semantic difference: the prefix runs without dropout (it runs in eval mode, once per
example), where plain training would drop out inside the frozen blocks too. With dropout 0 the
two paths compute the same losses.

How it plugs in (:func:`attach`): each loader's collator adds a ``prefix_slots`` tensor (the
examples' places in the store); a forward pre-hook on the model pops it, computes the states of
examples not seen yet, pads the batch's states and switches the embeddings to return them and
the bottom blocks to pass them through. The FLOPs probe goes the same way, its prefix filled
first (:meth:`FrozenPrefix.fill`), so MFU counts the work a training step does. A forward
without ``prefix_slots`` (prediction after training) runs the whole model as usual. Loaders must
not use worker processes (the loop's do not): the store lives in the training process.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from .cache import cache_dir
from .config import Recipe
from .errors import RecipeError
from .methods import get_method

KEY = "prefix_slots"
"""The batch key carrying each example's place in the store."""
SUPPORTED = ("bert", "roberta", "xlm-roberta")
"""Model types whose base model is ``embeddings`` -> ``encoder.layer[i]`` and nothing between
(MiniLM and multilingual-e5-small are BERT models)."""
SHARD_MB = 256
"""The spill file's growth step (one mapped file per step)."""


class _Stop(Exception):  # noqa: N818 - control flow, not an error
    """Raised by the hook on the last frozen block: its output is all the prefix pass needs."""

    def __init__(self, output: torch.Tensor) -> None:
        self.output = output


def find_encoder(model: nn.Module) -> nn.Module | None:
    """The BERT-like base model inside ``model`` (peft wrappers included), or ``None``."""
    for module in model.modules():
        config = getattr(module, "config", None)
        layers = getattr(getattr(module, "encoder", None), "layer", None)
        if (
            getattr(config, "model_type", None) in SUPPORTED
            and not getattr(config, "is_decoder", False)
            and isinstance(getattr(module, "embeddings", None), nn.Module)
            and isinstance(layers, nn.ModuleList)
        ):
            return module
    return None


def frozen_depth(encoder: nn.Module) -> int:
    """How many bottom blocks (with the embeddings) hold no trainable parameter."""
    if any(p.requires_grad for p in encoder.embeddings.parameters()):
        return 0
    for depth, block in enumerate(encoder.encoder.layer):
        if any(p.requires_grad for p in block.parameters()):
            return depth
    return len(encoder.encoder.layer)


class Store:
    """Each example's prefix states, unpadded (``[tokens, hidden]``), filled on first use: the
    first ``budget_mb`` in memory, the rest in mapped files under ``spill_dir``."""

    def __init__(self, lengths: Sequence[int], *, budget_mb: float, spill_dir: Any) -> None:
        self.lengths = list(lengths)
        self.budget = int(budget_mb * 2**20)
        self.spill_dir = spill_dir
        self.filled = torch.zeros(len(self.lengths), dtype=torch.bool)
        self.rows: list[torch.Tensor | None] = [None] * len(self.lengths)
        self.memory_bytes = 0
        self.spilled_bytes = 0
        self._shard: torch.Tensor | None = None  # the current spill file, [tokens, hidden]
        self._shard_used = 0

    def put(self, slot: int, states: torch.Tensor) -> None:
        """Keep one example's states (``[tokens, hidden]``, any device), on the host. A host
        tensor that owns its whole storage is kept as it is (no second copy), any other copied:
        a view must not pin the batch it came from."""
        size = states.numel() * states.element_size()
        if self.memory_bytes + size <= self.budget:
            owns = states.untyped_storage().nbytes() == size and states.is_contiguous()
            self.rows[slot] = states.detach().to("cpu", copy=not owns)
            self.memory_bytes += size
        else:
            target = self._spill_space(states)
            target.copy_(states.detach())
            self.rows[slot] = target
            self.spilled_bytes += size
        self.filled[slot] = True

    def _spill_space(self, states: torch.Tensor) -> torch.Tensor:
        tokens, hidden = states.shape
        if self._shard is None or self._shard_used + tokens > self._shard.shape[0]:
            per_token = hidden * states.element_size()
            self._shard = _mapped(
                self.spill_dir, max(SHARD_MB * 2**20 // per_token, tokens), hidden, states.dtype
            )
            self._shard_used = 0
        view = self._shard[self._shard_used : self._shard_used + tokens]
        self._shard_used += tokens
        return view

    def padded(self, slots: list[int], mask: torch.Tensor) -> torch.Tensor:
        """The states of ``slots`` as one ``[batch, length, hidden]`` tensor on ``mask``'s device,
        zeros where ``mask`` (the batch's attention mask) is 0."""
        rows = [self.rows[s] for s in slots]
        flat = torch.cat(rows).to(mask.device, non_blocking=True)
        out = flat.new_zeros((*mask.shape, flat.shape[-1]))
        out[mask.bool()] = flat
        return out


def _mapped(folder: Any, tokens: int, hidden: int, dtype: torch.dtype) -> torch.Tensor:
    """A ``[tokens, hidden]`` tensor backed by a new file in ``folder``, unlinked at once: the
    mapping lives as long as the tensor, the file no longer than the process."""
    os.makedirs(folder, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="prefix-", suffix=".bin", dir=folder)
    os.close(fd)
    try:
        flat = torch.from_file(path, shared=True, size=tokens * hidden, dtype=dtype)
    finally:
        os.unlink(path)
    return flat.view(tokens, hidden)


def _example_key(example: dict[str, Any]) -> tuple:
    return tuple(example["input_ids"]), tuple(example.get("token_type_ids") or ())


class FrozenPrefix:
    """The store, the slot of every known example, and the switch the patched modules read."""

    def __init__(self, encoder: nn.Module, depth: int, store: Store, slots: dict[tuple, int],
                 autocast: Callable[[], Any]) -> None:
        self.encoder, self.depth, self.store, self.slots = encoder, depth, store, slots
        self.autocast = autocast
        self.active: torch.Tensor | None = None  # the current batch's prefix output, if cached
        self.computed = 0  # examples whose prefix was computed (each once)

    # ---------------------------------------------------------------- the batch side
    def collator(self, inner: Callable[[list[dict]], Any]) -> Callable[[list[dict]], Any]:
        def collate(features: list[dict]) -> Any:
            slots = [self.slots[_example_key(f)] for f in features]
            batch = inner(features)
            batch[KEY] = torch.tensor(slots, dtype=torch.long)
            return batch

        return collate

    # ---------------------------------------------------------------- the model side
    def pre_hook(self, module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        if KEY not in kwargs:
            return args, kwargs
        self.fill(kwargs)
        slots = kwargs.pop(KEY)
        self.active = self.store.padded(slots.tolist(), kwargs["attention_mask"])
        return args, kwargs

    def fill(self, batch: dict[str, Any]) -> None:
        """Compute and store the prefix states of ``batch``'s examples not stored yet."""
        slots = batch[KEY]
        missing = (~self.store.filled[slots.cpu()]).nonzero().flatten().tolist()
        if missing:
            self._compute(batch, missing, slots.tolist())

    def post_hook(self, module: nn.Module, args: tuple, kwargs: dict, output: Any) -> None:
        self.active = None

    def _compute(self, kwargs: dict, rows: list[int], slots: list[int]) -> None:
        """Run the prefix (eval mode, no gradients) on the batch's ``rows`` and store them."""
        index = torch.tensor(rows, device=kwargs["input_ids"].device)
        inputs = {
            k: kwargs[k].index_select(0, index)
            for k in ("input_ids", "attention_mask", "token_type_ids")
            if kwargs.get(k) is not None
        }
        modes = [(m, m.training) for m in self.encoder.modules()]
        self.encoder.eval()
        hook = self.encoder.encoder.layer[self.depth - 1].register_forward_hook(_stop)
        try:
            with torch.no_grad(), self.autocast():
                self.encoder(**inputs)
            raise RuntimeError("the frozen prefix pass did not stop at its last block")
        except _Stop as stop:
            states = stop.output
        finally:
            hook.remove()
            for m, training in modes:
                m.training = training
        mask = inputs["attention_mask"].bool()
        for i, row in enumerate(rows):
            self.store.put(slots[row], states[i][mask[i]])
        self.computed += len(rows)

    def patch(self) -> None:
        """Embeddings return the cached states and the frozen blocks pass them through while a
        batch with ``prefix_slots`` runs; otherwise they compute as usual."""
        embeddings = self.encoder.embeddings
        plain_embeddings = embeddings.forward

        def embed(*args: Any, **kwargs: Any) -> torch.Tensor:
            return self.active if self.active is not None else plain_embeddings(*args, **kwargs)

        embeddings.forward = embed
        for block in list(self.encoder.encoder.layer)[: self.depth]:
            block.forward = _passthrough(self, block.forward)


def _stop(module: nn.Module, args: tuple, output: Any) -> None:
    raise _Stop(output[0] if isinstance(output, tuple) else output)


def _passthrough(prefix: FrozenPrefix, plain: Callable) -> Callable:
    def forward(hidden_states: torch.Tensor, *args: Any, **kwargs: Any) -> Any:
        if prefix.active is not None:
            return hidden_states
        return plain(hidden_states, *args, **kwargs)

    return forward


def attach(
    model: nn.Module,
    loaders: Sequence[Any],
    *,
    recipe: Recipe,
    autocast: Callable[[], Any],
) -> FrozenPrefix:
    """Cache ``model``'s frozen prefix for every example of ``loaders`` (plain DataLoaders, not
    yet prepared; ``None`` entries skipped): their collators gain ``prefix_slots``, the model
    its hooks. ``autocast``: the mixed-precision context the prefix runs in. A RecipeError
    naming ``train.reuse_frozen_prefix`` when there is nothing to reuse."""
    key, source = "train.reuse_frozen_prefix", recipe.source
    method = get_method(recipe.method.name)
    if method.extra_positions(recipe.method):
        raise RecipeError(source, key, f"method {recipe.method.name!r} feeds trainable virtual "
                          "tokens through every block: no block's output is fixed")
    encoder = find_encoder(model)
    if encoder is None:
        raise RecipeError(source, key, "needs a BERT-like encoder (model types "
                          f"{', '.join(SUPPORTED)}: embeddings, then encoder.layer blocks)")
    depth = frozen_depth(encoder)
    if depth == 0:
        raise RecipeError(source, key, "the embeddings or the bottom block train: no frozen "
                          "prefix to reuse (train only the top blocks: method freeze's layers, "
                          "or method.layers for lora / adapter)")
    slots: dict[tuple, int] = {}
    lengths: list[int] = []
    loaders = [dl for dl in loaders if dl is not None]
    for dl in loaders:
        columns = [c for c in ("input_ids", "token_type_ids") if c in dl.dataset.column_names]
        for example in dl.dataset.select_columns(columns):
            k = _example_key(example)
            if k not in slots:
                slots[k] = len(lengths)
                lengths.append(len(k[0]))
    store = Store(lengths, budget_mb=recipe.train.prefix_cache_mb,
                  spill_dir=cache_dir() / "prefix")
    prefix = FrozenPrefix(encoder, depth, store, slots, autocast)
    prefix.patch()
    model.register_forward_pre_hook(prefix.pre_hook, with_kwargs=True)
    model.register_forward_hook(prefix.post_hook, with_kwargs=True, always_call=True)
    for dl in loaders:
        dl.collate_fn = prefix.collator(dl.collate_fn)
    return prefix
