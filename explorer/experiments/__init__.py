"""Training and analysing networks: data sets, the training loop, loss landscapes, gradient variance,
Hessian, kernel checks."""
