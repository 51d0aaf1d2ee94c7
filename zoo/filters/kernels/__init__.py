"""Compute kernels behind `zoo.filters`: Numba on CPU, Triton on CUDA. Kernels see plain (N, T) arrays."""
