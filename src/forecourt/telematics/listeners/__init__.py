"""Listeners: the processes that speak each protocol, commit through the pipeline, then acknowledge."""
