"""Prefix tuning across the transformers 5.24 rename of ``past_key_values`` to ``cache``:
peftgov's prompt method must hand the prefix to the model in every path (training forward,
encoder classification, and generation), on the locked version and on the newest."""

from __future__ import annotations

import torch

from peftgov.methods import get_method
from peftgov.methods.prompt import PromptOptions


def _prefix_llama():
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
        num_attention_heads=2, num_key_value_heads=2, pad_token_id=0, eos_token_id=1,
        bos_token_id=2,
    )
    model = get_method("prompt").apply(
        LlamaForCausalLM(config),
        PromptOptions(variant="prefix", num_virtual_tokens=4),
        head=[],
        peft_task_type="CAUSAL_LM",
    )
    with torch.no_grad():  # a prefix far from zero, so ignoring it changes the output
        for p in model.prompt_encoder.parameters():
            p.normal_(0, 2.0)
    return model.eval()


def test_generation_uses_the_prefix():
    """Greedy ``generate`` must equal greedy decoding by full forwards (which always carry the
    prefix). On transformers 5.24 + peft 0.21 without peftgov's fix, ``generate`` silently
    dropped the prefix and these differ."""
    model = _prefix_llama()
    ids = torch.randint(3, 50, (2, 5), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        generated = model.generate(
            input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=6, do_sample=False
        )
        seq = ids
        for _ in range(6):
            logits = model(input_ids=seq, attention_mask=torch.ones_like(seq)).logits
            seq = torch.cat([seq, logits[:, -1].argmax(-1, keepdim=True)], dim=1)
    assert torch.equal(generated, seq)


def test_the_prefix_changes_the_output():
    model = _prefix_llama()
    ids = torch.randint(3, 50, (2, 5), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        with_prefix = model(input_ids=ids).logits
        with model.disable_adapter():
            without = model(input_ids=ids).logits
    assert not torch.allclose(with_prefix[:, -5:], without, atol=1e-3)
