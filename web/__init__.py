"""Staff-facing web pages and service endpoints (health)."""
