"""lotline's benchmark harness: ``python -m bench WORKLOAD --db sqlite|postgres --scale ci|full``."""
