"""What a cell's connectivity implies: paths, effective depth/width, NNGP maps and kernels, whole search spaces, teaching text."""
