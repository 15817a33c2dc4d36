"""On Call: SOS and crash alerts become cases a call-centre agent works, dispatches and closes."""
