"""NPS that closes the loop: a survey after a touchpoint, the answer, and a follow-up for every detractor.

Nothing depends on this package: it listens to other domains' events (a service visit closed, a car
delivered, an On Call case closed) and runs a scheduled job (overdue follow-ups escalate).
"""
