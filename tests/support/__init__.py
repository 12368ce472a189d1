"""What tests run around the server, not clients of a door: which backends this run uses, bounded
waiting, a held bus, a TCP relay that cuts a backend, twistd as a process, a headless browser,
hostile-input strategies. Test modules import from here and from tests.clients, never from each
other (tests/test_layout.py checks)."""
