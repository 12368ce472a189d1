"""Shared HTTP plumbing: the site (body limit, access log), body parsing, JSON answers."""
