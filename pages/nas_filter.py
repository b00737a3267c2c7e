from ui.common import coming_soon

coming_soon("NAS filter lab", "the d̄/m̄ box pre-filter of Chen et al. Sec. 5.3 with search simulations on benchmark data.", "Labs")
