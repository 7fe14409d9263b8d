"""Operations for the Partner API pipeline: alert sink, Prometheus metrics, health checks."""
