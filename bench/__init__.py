"""Benchmarks for Forecourt, run with ``make bench`` (``python -m bench``); never part of the test run.

Each benchmark prints its figures and writes them to ``bench/results/<name>.json`` so a change in
performance shows up as a diff in review.
"""
