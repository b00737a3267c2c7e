"""Export a realised network to ONNX, so it opens in Netron (the op-level graph viewer).

Uses PyTorch's ``torch.export``-based exporter (the default since PyTorch 2.9; the TorchScript one
is deprecated), with a dynamic batch dimension. The model is exported in eval mode (BatchNorm
uses running statistics), which is what an inference graph means.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
import warnings
from pathlib import Path

import torch
from torch import nn

from explorer.core.errors import UserError

ONNX_MEDIA_TYPE = "application/onnx"


def export_onnx(model: nn.Module, input_shape: tuple[int, ...], path: str | Path | None = None) -> bytes:
    """The ONNX bytes of ``model`` for inputs of shape (batch, *input_shape); also written to
    ``path`` when given. Input is named ``input``, output ``logits``; the batch size is dynamic."""
    was_training = model.training
    model.eval()
    try:
        example = torch.zeros(2, *input_shape)  # batch 2: torch.export specialises a batch of 1
        batch = torch.export.Dim("batch")
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            program = torch.onnx.export(
                model, (example,), dynamo=True, verbose=False, input_names=["input"], output_names=["logits"],
                dynamic_shapes=({0: batch},),
            )
        if program is None:  # pragma: no cover - only when the exporter changes its contract
            raise UserError("the ONNX exporter returned nothing")
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "model.onnx"
            program.save(str(out))
            data = out.read_bytes()
    finally:
        model.train(was_training)
    if path is not None:
        target = Path(path)
        tmp_target = target.with_name(target.name + ".tmp")
        tmp_target.write_bytes(data)
        tmp_target.replace(target)
    return data
