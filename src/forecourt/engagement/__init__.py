"""Coordinated engagement: occasions in a car's life, partners' offers for them, and one message per
occasion and driver that carries every offer the driver allowed, under a cap on how often anyone writes.

Nothing depends on this package: it reads the other domains through their public modules, is run by
scheduled jobs, and is read by the pages and by ``privacy`` (export and erasure).
"""
