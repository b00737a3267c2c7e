"""One collector of validation problems, so a build reports all of them (up to ``MAX_REPORTED``)."""

from __future__ import annotations

from explorer.core.errors import DataError

MAX_REPORTED = 25  # problems listed in one error message


class Problems:
    """Collects validation problems so one run reports all of them (up to MAX_REPORTED)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self.count = 0

    def add(self, where: str, msg: str) -> None:
        self.count += 1
        if len(self.items) < MAX_REPORTED:
            self.items.append(f"{where}: {msg}")

    def raise_if_any(self) -> None:
        if self.count:
            more = f"\n  … and {self.count - len(self.items)} more" if self.count > len(self.items) else ""
            raise DataError(
                f"{self.count} problem(s) in the input files; nothing was written:\n  "
                + "\n  ".join(self.items) + more
            )
