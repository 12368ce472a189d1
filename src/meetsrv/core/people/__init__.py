"""People: friends, blocks and contacts, profiles, photos."""
