"""Reusable widgets: each draws one thing from data handed to it, and knows nothing of devices."""
