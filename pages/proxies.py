from ui.common import coming_soon

coming_soon("Zero-cost proxies", "Kendall τ / Spearman ρ of each zero-cost proxy with accuracy, overall and per d̄/m̄ bucket.", "The benchmark warehouse")
