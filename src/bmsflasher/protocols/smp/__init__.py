"""protocols/smp layer."""
