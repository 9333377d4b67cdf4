"""Every figure the package draws, in one place, one module per subject.

The functions take plain arrays, result dictionaries or file paths and write
PNG files (or return a matplotlib Figure). None of them chooses a matplotlib
backend: the command line sets ``MPLBACKEND=Agg`` unless you set it, and a
script keeps whatever backend it uses.

* :mod:`.data`: a generated data set (rates, voltage distributions, traces);
* :mod:`.protocols`: the Hay validation protocols;
* :mod:`.models`: free-running evaluation, training logs, learning curves;
* :mod:`.network`: a NetPyNE run (raster, traces, laminar LFP);
* :mod:`.lfp`: network LFP comparisons from arrays.
"""
