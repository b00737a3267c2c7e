"""``NetworkSpec``: a cell plus network kind and size, as jobs, the CLI and pages pass it around."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from torch import nn

from explorer.cell.model import Cell, Genotype, parse_cell
from explorer.core.errors import CellError
from explorer.nets import build_network, network_kind


def parse_network_cell(text: str) -> Cell | Genotype:
    """Any cell text; a DARTS genotype keeps its reduce cell (a ``Genotype``), others give a ``Cell``."""
    stripped = text.strip()
    if stripped.startswith("Genotype") or (stripped.startswith("{") and '"normal"' in stripped):
        return Genotype.parse(stripped)
    return parse_cell(stripped)


class NetworkSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cell: str = Field(description="the cell in any format: NB201 string, DARTS genotype (text or JSON), cell JSON")
    network: Literal["mlp", "nb201", "darts"] | None = Field(
        None, description="network kind; default: the cell's own (linear ops → mlp, NB201 cell → nb201, …)")
    width: int = Field(256, ge=1, le=16384, description="MLP width m")
    channels: int = Field(16, ge=2, le=1024, description="C of the NB201/DARTS network")
    cells_per_stage: int = Field(5, ge=0, le=64, description="N of the NB201 network")
    layers: int = Field(8, ge=1, le=64, description="cells of the DARTS network")
    mlp_stem: Literal["chen", "linear"] = Field(
        "chen", description="MLP networks: 'chen' = Chen et al.'s network (Linear+ReLU stem, Kaiming-normal init on "
        "every layer incl. stem and readout); 'linear' = the earlier one (linear stem, PyTorch's default init on "
        "stem and head; runs stored before this field existed)")
    mlp_branch_scale: float = Field(
        1.0, gt=0, le=10, description="MLP networks: α of x + α·f(x) at every node where a parameterized edge meets "
        "an identity edge (1 = the cell as drawn; 1/depth keeps an unnormalised residual chain's activations bounded)")
    auxiliary: bool = Field(False, description="DARTS' auxiliary head after the cell at 2/3 depth, used in "
                            "training only (darts networks; its loss weight is the train spec's auxiliary_weight)")

    @field_validator("cell")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            parse_network_cell(value)
        except CellError as exc:
            raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _branch_scale_is_mlp(self) -> NetworkSpec:
        if self.mlp_branch_scale != 1.0 and self.kind() != "mlp":
            raise ValueError(f"mlp_branch_scale scales MLP-cell branches; this is a {self.kind()} network")
        return self

    @model_validator(mode="after")
    def _auxiliary_is_darts(self) -> NetworkSpec:
        if self.auxiliary and self.kind() != "darts":
            raise ValueError(f"auxiliary is DARTS' auxiliary head; it needs a darts network, this one is {self.kind()}")
        return self

    def parsed_cell(self) -> Cell | Genotype:
        return parse_network_cell(self.cell)

    def normal_cell(self) -> Cell:
        c = self.parsed_cell()
        return c.normal if isinstance(c, Genotype) else c

    def kind(self) -> str:
        return self.network or network_kind(self.normal_cell())

    def build(self, input_shape: tuple[int, ...], num_classes: int) -> nn.Module:
        return build_network(self.parsed_cell(), self.kind(), input_shape=input_shape, num_classes=num_classes,
                             width=self.width, channels=self.channels, cells_per_stage=self.cells_per_stage,
                             layers=self.layers, auxiliary=self.auxiliary, mlp_stem=self.mlp_stem,
                             mlp_branch_scale=self.mlp_branch_scale)
