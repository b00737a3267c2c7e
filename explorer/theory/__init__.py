"""What a cell's connectivity implies: paths, effective depth/width, NNGP maps and kernels, whole
search spaces, Shu's variants, network-level DAGs, teaching text."""
