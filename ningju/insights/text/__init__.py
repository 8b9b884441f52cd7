"""The Chinese text engine: segmentation, category classifier, similar-demand index and clustering.

Pure text in, numbers out: nothing here reads the database or the network, so the platform's background jobs,
the `ningju text` command and the benchmarks all call the same functions.
"""
