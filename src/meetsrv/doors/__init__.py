"""The five doors: each knows its paths, its request and answer shapes, its errors and its
credential, and holds no rule that another door would need (those live in meetsrv.core)."""
