"""protocols/uds layer."""
