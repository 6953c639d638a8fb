"""Benchmarks: each module ``bench/<name>.py`` has ``run() -> list[dict]`` returning results of the form
``{"name", "value", "unit", "baseline", "ratio"}``, where the baseline is measured in the same run
(never a number from another day or machine). ``python -m bench [names...]`` runs them (see run.py).
"""
