"""ONNX export: the file passes onnx.checker and onnxruntime computes what torch computes."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from explorer.cell.presets import get_preset
from explorer.cli import main
from explorer.nets import build_network
from explorer.nets.onnx import export_onnx
from explorer.nets.weights import load_weights, save_weights


def _run(data: bytes, x: torch.Tensor) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.numpy()})[0]


@pytest.mark.slow  # torch.export of a DARTS network: ~7 s alone, much more on a loaded machine
@pytest.mark.parametrize("auxiliary", [False, True], ids=["plain", "auxiliary+drop-path"])
def test_darts_network_exports_and_runs_the_same_in_onnxruntime(auxiliary) -> None:
    torch.manual_seed(0)
    # DARTS-V2: separable and dilated convs, skips (factorized reduce in the reduction cells), concat.
    net = build_network(get_preset("DARTS-V2 normal cell").cell, "darts", input_shape=(3, 8, 8), num_classes=4,
                        channels=4, layers=3, auxiliary=auxiliary)
    net.train()
    net(torch.randn(8, 3, 8, 8))  # move the BN running statistics off their defaults
    if auxiliary:  # trained with DARTS' extras: the inference graph has neither the head nor drop-path
        net.drop_path_prob = 0.2
        net(torch.randn(8, 3, 8, 8), auxiliary=True)
    data = export_onnx(net, (3, 8, 8))
    assert net.training  # the caller's mode is restored
    onnx.checker.check_model(onnx.load_from_string(data))
    x = torch.randn(5, 3, 8, 8)  # another batch size than the export example: the batch is dynamic
    with torch.no_grad():
        expected = net.eval()(x).numpy()
    np.testing.assert_allclose(_run(data, x), expected, rtol=1e-4, atol=1e-5)


def test_cli_exports_a_trained_mlp(tmp_path, capsys) -> None:
    cell = get_preset("DAG#3 (mixed)").cell
    torch.manual_seed(1)
    net = build_network(cell, "mlp", input_shape=(64,), width=16)
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(save_weights(net))
    out = tmp_path / "net.onnx"
    code = main(["export-onnx", "--cell", cell.to_json_text(compact=True), "--network", "mlp", "--width", "16",
                 "--input-shape", "64", "--weights", str(weights), "--out", str(out), "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["parameters"] == sum(p.numel() for p in net.parameters())
    x = torch.randn(3, 64)
    with torch.no_grad():
        np.testing.assert_allclose(_run(out.read_bytes(), x), net(x).numpy(), rtol=1e-4, atol=1e-5)


def test_cli_and_weights_errors_are_clear(tmp_path, capsys) -> None:
    assert main(["export-onnx", "--cell", "|bogus~0|", "--out", str(tmp_path / "x.onnx")]) == 2
    assert "error:" in capsys.readouterr().err
    assert main(["export-onnx", "--cell", "no/such/file.txt", "--out", str(tmp_path / "x.onnx")]) == 2
    assert "no such file" in capsys.readouterr().err
    small = build_network(get_preset("DAG#1 (sequential)").cell, "mlp", input_shape=(4,), width=8)
    other = build_network(get_preset("DAG#1 (sequential)").cell, "mlp", input_shape=(4,), width=16)
    from explorer.core.errors import DataError

    with pytest.raises(DataError, match="different network"):
        load_weights(other, save_weights(small))
    with pytest.raises(DataError, match="not a safetensors file"):
        load_weights(other, b"not safetensors")


def test_weights_of_a_network_trained_with_an_auxiliary_head_load_into_the_inference_network() -> None:
    from explorer.cell.presets import get_preset as preset

    cell = preset("DARTS-V2 normal cell").cell
    torch.manual_seed(0)
    trained = build_network(cell, "darts", input_shape=(3, 32, 32), channels=4, layers=3, auxiliary=True)
    plain = build_network(cell, "darts", input_shape=(3, 32, 32), channels=4, layers=3)
    load_weights(plain, save_weights(trained))  # the head's weights are left out, nothing else
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(plain.eval()(x), trained.eval()(x))
    extra = save_weights(plain)
    from explorer.core.errors import DataError

    with pytest.raises(DataError, match="missing auxiliary_head"):  # the other way round is still refused
        load_weights(trained, extra)
