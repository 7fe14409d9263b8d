"""A local simulator of the Partner API, faults included."""
