"""Messages leaving Forecourt, beside the outbox they are written to: the sender (``notify``) and the
e-mail it hands to a mail server (``mail``)."""
