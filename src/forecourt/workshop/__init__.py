"""The workshop: bookable bays and slots, proactive service proposals, pre-arrival briefs, loaners."""
