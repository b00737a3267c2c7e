from ui.common import coming_soon

coming_soon("Compare", "two to four cells side by side: metrics, bound curves, (d̄, m̄) points and an edge diff.", "The cell editor")
