"""Flows as data: the YAML schema and loader, the checker, routing, and the pure helpers the
engine (bot/engine.py) uses to read answers, conditions and templates. See docs/flows.md."""
