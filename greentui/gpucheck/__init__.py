"""The GPU truth kit: one prepared run that measures whether greentui's GPU figures are true on a given board.

``benchmarks/gpu_check.py`` drives it; ``docs/GPU.md`` says how to run it and how to read it. The pieces:

* :mod:`.nvml_probe`: what NVML says about the machine (versions, power limits, which readings exist) and how
  often the energy counter really changes;
* :mod:`.energy`: the energy counter against the trapezoid of instant and of 1 s averaged power over one span;
* :mod:`.matmul_load`: a matrix-multiply load in a child process (the only module here that imports torch);
* :mod:`.race`: a short fixed-length race through greentui's own session engine, summarised per item;
* :mod:`.findings`: the thresholds that turn the figures into "looks right" or "this is a bug";
* :mod:`.kit`: the phases in order, within a time budget, into one JSON-ready dict.
"""
