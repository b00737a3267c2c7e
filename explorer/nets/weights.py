"""Network weights as safetensors bytes (never pickle): parameters and buffers, by state-dict name."""

from __future__ import annotations

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from explorer.core.errors import DataError

WEIGHTS_MEDIA_TYPE = "application/vnd.safetensors"
# Parts a network has only while training (DARTS' auxiliary head): weights saved with them load into
# the same network built without them, the inference graph (e.g. for ONNX export).
TRAINING_ONLY_PREFIXES = ("auxiliary_head.",)


def save_weights(model: nn.Module, metadata: dict[str, str] | None = None) -> bytes:
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    return st_save(state, metadata=metadata)


def load_weights(model: nn.Module, data: bytes, *, what: str = "weights") -> None:
    """Load safetensors ``data`` into ``model``; ``DataError`` when it does not fit this network."""
    try:
        state = st_load(data)
    except (SafetensorError, ValueError, OSError) as exc:
        raise DataError(f"{what}: not a safetensors file ({exc})") from None
    own = model.state_dict()
    state = {k: v for k, v in state.items() if k in own or not k.startswith(TRAINING_ONLY_PREFIXES)}
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or extra or wrong:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}")
        if extra:
            parts.append(f"unexpected {', '.join(extra[:5])}{' …' if len(extra) > 5 else ''}")
        if wrong:
            k = wrong[0]
            parts.append(f"shape of {k} is {tuple(state[k].shape)}, the network has {tuple(own[k].shape)}")
        raise DataError(f"{what}: these weights belong to a different network ({'; '.join(parts)})")
    with torch.no_grad():
        model.load_state_dict(state)
