"""Source rules that keep untrusted bytes from running code: no pickle loads except the CIFAR reader's
restricted unpickler, no torch.load without weights_only=True, no numpy loads that allow pickles."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

SOURCES = [p for folder in ("explorer", "db", "pages", "ui") for p in (REPO / folder).rglob("*.py")] + [REPO / "app.py"]


def _calls(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Call):
            yield node, ast.unparse(node.func)


def _keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


def test_nothing_untrusted_is_unpickled() -> None:
    problems = []
    for path in SOURCES:
        for call, func in _calls(path):
            where = f"{path.relative_to(REPO)}:{call.lineno}"
            if func in ("pickle.load", "pickle.loads", "pickle.Unpickler", "cPickle.load", "joblib.load",
                        "pd.read_pickle", "pandas.read_pickle", "dill.load", "dill.loads"):
                problems.append(f"{where}: {func}")
            if func == "torch.load":
                flag = _keyword(call, "weights_only")
                if not (isinstance(flag, ast.Constant) and flag.value is True):
                    problems.append(f"{where}: torch.load without weights_only=True")
            if func in ("np.load", "numpy.load"):
                flag = _keyword(call, "allow_pickle")
                if isinstance(flag, ast.Constant) and flag.value is True:
                    problems.append(f"{where}: np.load(allow_pickle=True)")
    assert not problems, problems


def test_the_only_unpickler_admits_nothing_but_arrays_and_builtins(tmp_path, capsys) -> None:
    import pickle

    import pytest

    from explorer.core.errors import DataError
    from explorer.experiments.datasets import read_cifar_batch

    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({"data": Boom()}))
    with pytest.raises(DataError, match="refusing to unpickle builtins.print"):
        read_cifar_batch(path)
    assert "pwned" not in capsys.readouterr().out
