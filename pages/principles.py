from ui.common import coming_soon

coming_soon("Principles lab", "pre-registered hypotheses about skip connections, run through the job queue with proper statistics.", "Labs")
