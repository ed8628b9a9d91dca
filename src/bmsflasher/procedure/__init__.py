"""procedure layer."""
