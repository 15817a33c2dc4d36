"""Money: payment requests, the providers that collect them, and the ledger of what was received."""
