"""Singer tap for the Partner API."""
