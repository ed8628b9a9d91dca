"""discovery layer."""
