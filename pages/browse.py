from ui.common import coming_soon

coming_soon("Warehouse", "NAS-Bench-201 and NDS results in DuckDB, filtered by d̄/m̄, with Chen et al.'s Figure 5 as a live chart.", "The benchmark warehouse")
