"""Car sharing from dealer hubs: hubs, the shared fleet, reservations, unlock codes, trips, bills, test drives."""
