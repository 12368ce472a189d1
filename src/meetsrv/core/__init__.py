"""Core services: the rules, once, for every door. No HTTP, no Klein, no Autobahn, no door JSON."""
