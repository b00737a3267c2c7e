from ui.common import coming_soon

coming_soon("Experiment results", "training curves, loss contours, gradient-variance maps, Hessian spectra and the NNGP check.", "Experiments")
