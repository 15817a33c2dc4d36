"""Engagement: the coordinated message per occasion, partner offers, channels and NPS."""
