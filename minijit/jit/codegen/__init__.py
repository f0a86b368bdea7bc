"""Code generators that read the IR: the ``.code`` printer, NumPy and CUDA kernels."""
