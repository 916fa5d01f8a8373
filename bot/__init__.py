"""Homeward's conversational core (pure) and its runtime shell."""
